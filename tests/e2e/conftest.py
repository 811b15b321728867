"""End-to-end fixtures: real `meltano` subprocesses against the IGDB emulator.

Each test gets its own Meltano system database (state), lake, DuckDB file and
mart folder under tmp_path, and an environment scrubbed of the caller's IGDB,
AWS, Meltano and dbt variables, so runs never touch the working copy's output.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from igdb_emulator import Emulator
from igdb_emulator.pytest_plugin import EmulatorFactory

from tests.support.dim_games import read_dim_games
from tests.support.lake import Lake, LocalLake, S3Lake
from tests.support.meltano_env import ROOT, isolated_environment
from tests.support.seaweedfs import SeaweedFS

MELTANO = str(Path(sys.executable).with_name("meltano"))
RUN_TIMEOUT_S = 600


MAIN_JOB = ("run", "tap-igdb", "target-s3", "dbt-duckdb:run")
MART_KEY = "marts/dim_games/dim_games.parquet"


@dataclass
class Pipeline:
    """One isolated Meltano project state, talking to one emulator."""

    workdir: Path
    emulator: Emulator
    env: dict[str, str] = field(default_factory=dict)
    s3_lake: S3Lake | None = None

    @property
    def lake(self) -> Lake:
        return self.s3_lake or LocalLake(self.workdir / "lake")

    def dim_games(self) -> dict[int, dict[str, Any]]:
        """The Parquet mart the run wrote (downloaded first when it is on S3)."""
        if self.s3_lake is None:
            return read_dim_games(self.workdir / MART_KEY)
        body = self.s3_lake.read(MART_KEY)
        assert body is not None, f"no mart at s3://{self.s3_lake.bucket}/{MART_KEY}"
        local = self.workdir / "downloaded-dim_games.parquet"
        local.write_bytes(body)
        return read_dim_games(local)

    def meltano(
        self, *args: str, check: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        completed = subprocess.run(
            [MELTANO, *args],
            cwd=ROOT,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            check=False,
        )
        if check and completed.returncode != 0:
            tail = "\n".join((completed.stdout + completed.stderr).splitlines()[-40:])
            pytest.fail(f"meltano {' '.join(args)} exited {completed.returncode}:\n{tail}")
        return completed

    def start_meltano(self, *args: str) -> subprocess.Popen[str]:
        """Start `meltano ARGS` without waiting (stderr merged into stdout)."""
        return subprocess.Popen(
            [MELTANO, *args],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def state(self) -> dict[str, Any]:
        state_id = f"{self.env['MELTANO_ENVIRONMENT']}:tap-igdb-to-target-s3"
        out = self.meltano("state", "get", state_id).stdout
        return dict(json.loads(out))


def pipeline_environment(workdir: Path, emulator: Emulator) -> dict[str, str]:
    """`isolated_environment` with the tap pointed at `emulator`."""
    return {
        **isolated_environment(workdir),
        "TAP_IGDB_API_URL": emulator.api_url,
        "TAP_IGDB_AUTH_URL": emulator.auth_url,
        "TAP_IGDB_CLIENT_ID": emulator.client_id,
        "TAP_IGDB_CLIENT_SECRET": emulator.client_secret,
    }


@pytest.fixture
def dev_pipeline(tmp_path: Path, igdb_emulator_factory: EmulatorFactory) -> Pipeline:
    """The dev environment (local lake) against an emulator with the real samples."""
    emulator = igdb_emulator_factory()
    return Pipeline(tmp_path, emulator, pipeline_environment(tmp_path, emulator))


@pytest.fixture
def prod_pipeline(
    tmp_path: Path,
    igdb_emulator_factory: EmulatorFactory,
    seaweedfs: SeaweedFS,
    s3_bucket: str,
) -> Pipeline:
    """The prod environment on a real S3 server: lake, marts and Meltano state in one bucket."""
    return prod_pipeline_for(tmp_path, igdb_emulator_factory(), seaweedfs, s3_bucket)


def prod_pipeline_for(
    tmp_path: Path, emulator: Emulator, seaweedfs: SeaweedFS, s3_bucket: str
) -> Pipeline:
    """A prod-environment Pipeline for a given emulator (see `prod_pipeline`)."""
    env = pipeline_environment(tmp_path, emulator)
    for local_only in ("TARGET_S3_LOCAL_PATH", "IGDB_LAKE_ROOT", "IGDB_MART_ROOT"):
        del env[local_only]
    endpoint = seaweedfs.endpoint_url
    env.update(
        {
            "MELTANO_ENVIRONMENT": "prod",
            "IGDB_LAKE_BUCKET": s3_bucket,
            # The standard AWS credential chain, as the OIDC role provides in Actions.
            "AWS_ACCESS_KEY_ID": seaweedfs.access_key,
            "AWS_SECRET_ACCESS_KEY": seaweedfs.secret_key,
            "AWS_REGION": seaweedfs.region,
            "AWS_DEFAULT_REGION": seaweedfs.region,
            "TARGET_S3_ENDPOINT_URL": endpoint,
            "IGDB_S3_ENDPOINT": endpoint.removeprefix("http://"),
            "IGDB_S3_URL_STYLE": "path",
            "IGDB_S3_USE_SSL": "false",
            "MELTANO_STATE_BACKEND_URI": f"s3://{s3_bucket}/meltano/state",
            "MELTANO_STATE_BACKEND_S3_ENDPOINT_URL": endpoint,
            "MELTANO_STATE_BACKEND_S3_AWS_ACCESS_KEY_ID": seaweedfs.access_key,
            "MELTANO_STATE_BACKEND_S3_AWS_SECRET_ACCESS_KEY": seaweedfs.secret_key,
        }
    )
    return Pipeline(tmp_path, emulator, env, S3Lake(seaweedfs.client(), s3_bucket))
