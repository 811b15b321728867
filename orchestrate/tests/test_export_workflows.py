"""The exporter: Meltano schedules -> one GitHub Actions workflow each."""

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrate.export_workflows import (
    CHECKOUT,
    CONFIGURE_AWS,
    GENERATED_MARKER,
    SETUP_PYTHON,
    ExportError,
    Schedule,
    differences,
    parse_schedules,
    render_workflow,
    write,
)


def listing(*schedules: dict[str, object], elt: list[object] | None = None) -> str:
    return json.dumps({"schedules": {"job": list(schedules), "elt": elt or []}})


def schedule_item(name: str = "daily", cron: str = "0 20 * * 1-6", **env: str) -> dict[str, object]:
    return {
        "name": name,
        "interval": cron,
        "cron_interval": cron,
        "env": env,
        "job": {"name": "igdb-pipeline", "tasks": ["tap-igdb target-s3 dbt-duckdb:run"]},
    }


def workflow(schedule: Schedule) -> dict[Any, Any]:
    document = yaml.safe_load(render_workflow(schedule))
    assert isinstance(document, dict)
    return document


DAILY = parse_schedules(listing(schedule_item()))[0]
WEEKLY = parse_schedules(
    listing(schedule_item("weekly", "0 20 * * 0", MELTANO_RUN_FULL_REFRESH="true"))
)[0]


def test_the_workflow_runs_the_schedule_on_its_cron_and_on_manual_dispatch() -> None:
    document = workflow(DAILY)
    triggers = document[True]  # YAML 1.1 reads the key `on` as a boolean
    assert triggers["schedule"] == [{"cron": "0 20 * * 1-6"}]
    full_refresh = triggers["workflow_dispatch"]["inputs"]["full_refresh"]
    assert full_refresh["type"] == "boolean"
    assert full_refresh["default"] is False
    steps = document["jobs"]["run"]["steps"]
    run = next(step for step in steps if "run_job" in step.get("run", ""))
    # The schedule's job, task set by task set (orchestrate/run_job.py, decision 0008).
    assert run["run"] == ".venv/bin/python -m orchestrate.run_job --schedule daily"
    assert run["name"] == (
        "meltano run igdb-pipeline, task set by task set (tap-igdb target-s3 dbt-duckdb:run)"
    )
    assert run["env"]["MELTANO_RUN_FULL_REFRESH"] == "${{ inputs.full_refresh }}"


def test_a_full_refresh_schedule_defaults_its_manual_input_to_true() -> None:
    inputs = workflow(WEEKLY)[True]["workflow_dispatch"]["inputs"]
    assert inputs["full_refresh"]["default"] is True


def test_runs_never_overlap_and_are_bounded_in_time() -> None:
    daily, weekly = workflow(DAILY), workflow(WEEKLY)
    assert daily["concurrency"] == weekly["concurrency"]
    assert daily["concurrency"]["cancel-in-progress"] is False
    assert daily["jobs"]["run"]["timeout-minutes"] > 0
    assert all(
        step["timeout-minutes"] < daily["jobs"]["run"]["timeout-minutes"]
        for step in daily["jobs"]["run"]["steps"]
        if "timeout-minutes" in step
    )


def test_permissions_are_least_privilege_and_aws_comes_through_oidc() -> None:
    document = workflow(DAILY)
    text = render_workflow(DAILY)
    assert document["permissions"] == {}
    assert document["jobs"]["run"]["permissions"] == {"contents": "read", "id-token": "write"}
    assert "AWS_ACCESS_KEY_ID" not in text
    assert "AWS_SECRET_ACCESS_KEY" not in text
    steps = document["jobs"]["run"]["steps"]
    aws = next(step for step in steps if "configure-aws-credentials" in step.get("uses", ""))
    assert aws["with"]["role-to-assume"] == "${{ secrets.AWS_ROLE_ARN }}"


def test_igdb_credentials_come_from_secrets_only_in_the_run_step() -> None:
    steps = workflow(DAILY)["jobs"]["run"]["steps"]
    holders = [s for s in steps if "TAP_IGDB_CLIENT_SECRET" in json.dumps(s)]
    assert len(holders) == 1
    assert holders[0]["env"]["TAP_IGDB_CLIENT_SECRET"] == "${{ secrets.TAP_IGDB_CLIENT_SECRET }}"


def test_actions_are_pinned_to_full_commit_shas() -> None:
    uses = [s["uses"] for s in workflow(DAILY)["jobs"]["run"]["steps"] if "uses" in s]
    assert uses == [p.split(" #")[0] for p in (CHECKOUT, SETUP_PYTHON, CONFIGURE_AWS)]
    for action in uses:
        sha = action.split("@")[1]
        assert len(sha) == 40
        int(sha, 16)


def test_the_project_is_installed_as_the_readme_says() -> None:
    steps = workflow(DAILY)["jobs"]["run"]["steps"]
    python = next(s for s in steps if "setup-python" in s.get("uses", ""))
    assert python["with"]["python-version"] == "3.11"
    assert any(s.get("run") == "make install" for s in steps)
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "make install" in readme
    assert "Python 3.11" in readme


def test_failures_are_summarised_and_notified() -> None:
    steps = workflow(DAILY)["jobs"]["run"]["steps"]
    summary = next(s for s in steps if "orchestrate.run_summary" in s.get("run", ""))
    notify = next(s for s in steps if "orchestrate.notify_failure" in s.get("run", ""))
    assert summary["if"] == "${{ !cancelled() }}"
    assert notify["if"] == "${{ failure() }}"
    assert notify["env"]["RUN_FAILURE_WEBHOOK_URL"] == "${{ secrets.RUN_FAILURE_WEBHOOK_URL }}"


def test_the_file_says_it_is_generated_and_from_what() -> None:
    text = render_workflow(DAILY)
    assert text.startswith(GENERATED_MARKER)
    assert "Meltano schedule `daily`" in text
    assert "igdb-pipeline" in text


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (schedule_item(cron="@once"), "daily: interval '@once'"),
        (schedule_item(name="Daily Run"), "'Daily Run' is not a valid workflow file name"),
        ({**schedule_item(), "job": None}, "daily: it names no job"),
    ],
)
def test_a_schedule_that_cannot_be_a_workflow_is_one_clear_error(
    item: dict[str, object], expected: str
) -> None:
    if item.get("cron_interval") == "@once":
        item["cron_interval"] = None
    with pytest.raises(ExportError) as error:
        parse_schedules(listing(item))
    assert expected in str(error.value)
    assert "\n" not in str(error.value)


def test_legacy_elt_schedules_are_refused_by_name() -> None:
    with pytest.raises(ExportError, match="old-elt"):
        parse_schedules(listing(elt=[{"name": "old-elt"}]))


def test_write_then_check_is_in_sync_and_stale_generated_files_go(tmp_path: Path) -> None:
    handwritten = tmp_path / "ci.yml"
    handwritten.write_text("name: ci\n")
    stale = tmp_path / "gone.yml"
    stale.write_text(GENERATED_MARKER + "\nname: gone\n")

    write([DAILY, WEEKLY], tmp_path)

    assert differences([DAILY, WEEKLY], tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ci.yml", "daily.yml", "weekly.yml"]
    (tmp_path / "daily.yml").write_text("edited by hand\n")
    (tmp_path / "weekly.yml").unlink()
    assert differences([DAILY, WEEKLY], tmp_path) == [
        "daily.yml differs from its schedule",
        "weekly.yml is missing",
    ]
