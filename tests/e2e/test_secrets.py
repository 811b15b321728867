"""Secrets never appear in logs, errors, state, manifests, raw files, marts or workflows.

The whole prod pipeline runs with recognisable canary secrets (the IGDB client
secret, the S3 secret key, the Twitch access token), then everything it wrote
or printed is searched for them, byte for byte.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from igdb_emulator import EmulatorConfig
from igdb_emulator.pytest_plugin import EmulatorFactory

from tests.e2e.conftest import MAIN_JOB, prod_pipeline_for
from tests.support.meltano_env import ROOT
from tests.support.seaweedfs import SeaweedFS

IGDB_SECRET = "canary-igdb-client-secret-9d2b7c"


def files_under(*roots: Path) -> list[Path]:
    return [path for root in roots if root.exists() for path in root.rglob("*") if path.is_file()]


@pytest.mark.fault_matrix(
    fault="canary secrets (IGDB, S3, access token) and a wrong secret",
    injected="prod pipeline on SeaweedFS",
    outcome="secrets never printed or stored",
    check="every log, state, manifest, raw file, mart and workflow scanned",
)
def test_no_secret_reaches_any_log_state_file_object_or_workflow(
    tmp_path: Path,
    igdb_emulator_factory: EmulatorFactory,
    seaweedfs: SeaweedFS,
    s3_bucket: str,
) -> None:
    emulator = igdb_emulator_factory(config=EmulatorConfig(client_secret=IGDB_SECRET))
    pipeline = prod_pipeline_for(tmp_path, emulator, seaweedfs, s3_bucket)
    outputs = [pipeline.meltano(*MAIN_JOB), pipeline.meltano("run", "dbt-duckdb:test")]
    emulator.advance_day(changed=10, added=2, deleted=0, endpoint="games")
    outputs.append(pipeline.meltano(*MAIN_JOB))
    failed = pipeline.meltano(*MAIN_JOB, check=False, env={"TAP_IGDB_CLIENT_SECRET": "wrong"})
    outputs.append(failed)
    tokens = emulator.issued_tokens()
    canaries = [IGDB_SECRET, seaweedfs.secret_key, *tokens]
    assert tokens, "the emulator issued no token: the scan would miss it"

    printed = "".join(result.stdout + result.stderr for result in outputs)
    assert failed.returncode != 0
    s3 = pipeline.s3_lake
    assert s3 is not None
    objects = {key: s3.read(key) or b"" for key in s3.keys("")}
    assert any(key.startswith("meltano/state") for key in objects)
    assert any(key.startswith("marts/") for key in objects)
    local_files = files_under(tmp_path, ROOT / ".meltano" / "run", ROOT / ".github" / "workflows")

    for canary in canaries:
        assert canary not in printed, "a secret was printed"
        for key, body in objects.items():
            assert canary.encode() not in body, f"a secret is in s3://{s3.bucket}/{key}"
        for path in local_files:
            assert canary.encode() not in path.read_bytes(), f"a secret is in {path}"
