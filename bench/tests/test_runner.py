"""The harness's own Meltano system directory: plugins shared, run files private."""

from __future__ import annotations

from pathlib import Path

from tests.support.meltano_env import private_meltano_dir


def test_private_meltano_dir_links_the_plugins_but_not_the_run_files(tmp_path: Path) -> None:
    project = tmp_path / "project-sys"
    for name in ("extractors/tap-igdb/venv", "loaders/target-s3/venv", "run/tap-igdb"):
        (project / name).mkdir(parents=True)
    (project / "meltano.db").write_text("")

    sys_dir = private_meltano_dir(tmp_path / "work", project)

    assert (sys_dir / "extractors").resolve() == (project / "extractors").resolve()
    assert (sys_dir / "loaders" / "target-s3" / "venv").is_dir()
    assert not (sys_dir / "run").exists()
    assert not (sys_dir / "meltano.db").exists()
    assert private_meltano_dir(tmp_path / "work", project) == sys_dir  # idempotent
