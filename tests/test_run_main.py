"""The main-job launcher: real IGDB with credentials, the emulator without."""

import pytest

from orchestrate.run_main import (
    MAIN_JOB,
    MAIN_TASK_SETS,
    LaunchError,
    emulator_environment,
    uses_real_igdb,
)


def test_both_credentials_select_the_real_igdb() -> None:
    environ = {"TAP_IGDB_CLIENT_ID": "abc", "TAP_IGDB_CLIENT_SECRET": "xyz"}
    assert uses_real_igdb(environ) is True


@pytest.mark.parametrize("environ", [{}, {"TAP_IGDB_CLIENT_ID": " ", "TAP_IGDB_CLIENT_SECRET": ""}])
def test_no_credentials_select_the_emulator(environ: dict[str, str]) -> None:
    assert uses_real_igdb(environ) is False


def test_half_the_credentials_is_one_clear_error_naming_the_missing_one() -> None:
    with pytest.raises(LaunchError) as error:
        uses_real_igdb({"TAP_IGDB_CLIENT_ID": "abc"})
    message = str(error.value)
    assert "TAP_IGDB_CLIENT_SECRET is not set" in message
    assert "\n" not in message
    assert "abc" not in message


def test_emulator_environment_points_every_tap_url_setting_at_the_emulator() -> None:
    ready = {
        "api_url": "http://127.0.0.1:5000/v4",
        "auth_url": "http://127.0.0.1:5000/oauth2/token",
        "client_id": "id",
        "client_secret": "secret",
    }
    assert emulator_environment(ready) == {
        "TAP_IGDB_API_URL": "http://127.0.0.1:5000/v4",
        "TAP_IGDB_AUTH_URL": "http://127.0.0.1:5000/oauth2/token",
        "TAP_IGDB_CLIENT_ID": "id",
        "TAP_IGDB_CLIENT_SECRET": "secret",
    }


def test_the_main_job_is_the_documented_meltano_run_in_two_task_sets() -> None:
    assert MAIN_JOB == ("tap-igdb", "target-s3", "dbt-duckdb:run")
    assert " ".join(MAIN_TASK_SETS).split() == list(MAIN_JOB)
    assert MAIN_TASK_SETS[0] == "tap-igdb target-s3"
