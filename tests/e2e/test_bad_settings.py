"""Bad input for every setting: one clear line naming it, no traceback, a non-zero
exit, nothing written (issue 7).

The matrix is generated from the settings themselves: every setting Meltano
declares for tap-igdb and target-s3, typed by the plugin's own JSON schema (what
`--about` prints), and the dbt-duckdb utility's environment-driven settings.
Each kind of bad value a setting can take is one case:

- wrong type: `abc` for an integer, `maybe` for a boolean, a number for a string
  (in a config file: through the environment every value is a string);
- empty: for a setting that is required or has a non-empty default (for the
  others an empty value means "not set": `bucket`, `endpoint_url`, `start_date`);
- out of bounds: one below the minimum (-1 where none is declared: no count,
  size or duration of ours can be negative) and one above the maximum;
- malformed URL or date, a value that is not one of the options;
- missing credential: a required credential unset, an AWS key without its partner.

Every case runs through the plugin's own executable with the config Meltano
writes for it (cheap); one case per plugin and kind of bad value runs through a
real `meltano run`, against a lake, marts and state that must stay as they were.
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from igdb_emulator import Dataset, Emulator, EmulatorConfig
from typing_extensions import override

from tests.e2e.conftest import MAIN_JOB, Pipeline, pipeline_environment
from tests.support.meltano_env import ROOT, isolated_environment

TAP = ROOT / ".venv" / "bin" / "tap-igdb"
TARGET = ROOT / ".venv" / "bin" / "target-s3"
DBT = ROOT / ".meltano" / "utilities" / "dbt-duckdb" / "venv" / "bin" / "dbt"
TARGET_INPUT = ROOT / "target-s3" / "tests" / "resources" / "games_incremental.singer"
TIMEOUT_S = 120

# Recognisable credentials: no output may contain them.
CLIENT_ID = "canary-client-id-5f1e"
CLIENT_SECRET = "canary-client-secret-7c3a"
AWS_KEY_ID = "AKIACANARYKEYID51FE"
AWS_SECRET = "canary-aws-secret-9b2d"
TAP_CONFIG = {
    "client_id": CLIENT_ID,
    "client_secret": CLIENT_SECRET,
    # Nothing listens here: a setting the tap wrongly accepts ends in a connection error.
    "api_url": "http://127.0.0.1:9/v4",
    "auth_url": "http://127.0.0.1:9/oauth2/token",
    "max_retries": 0,
}
CANARIES = (CLIENT_ID, CLIENT_SECRET, AWS_KEY_ID, AWS_SECRET)
# A traceback printed by one of our plugins, or through one of our modules.
OUR_TRACEBACK = re.compile(
    r"(tap-igdb|target-s3|dbt-duckdb)\s+Traceback|tap_igdb/|target_s3/|duckdb_plugins/"
)


@dataclass(frozen=True)
class Bad:
    """One setting given one kind of bad value."""

    plugin: str
    setting: str  # as meltano.yml names it
    env: str  # the environment variable that sets it
    kind: str
    value: str | int | None  # None: not set at all
    others: Mapping[str, str] = field(default_factory=dict)  # other variables it sets
    secret: bool = False  # its value must never be printed

    @override
    def __str__(self) -> str:
        shown = "(unset)" if self.value is None else repr(self.value)
        if isinstance(self.value, int):  # only a config file can say it
            return f"{self.setting}={shown}"
        return f"{self.env}={shown}"

    @property
    def names(self) -> tuple[str, ...]:
        """How the user writes the setting; `path` alone is too common a word."""
        return (self.env,) if self.plugin == "dbt-duckdb" else (self.setting, self.env)


# --------------------------------------------------------------------------- the matrix


def run(command: list[str], cwd: Path, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
        **kwargs,
    )


def meltano_settings(definition: str) -> dict[str, dict[str, Any]]:
    """The settings a plugin definition (`extract/tap-igdb.meltano.yml`, ...) declares."""
    plugins = yaml.safe_load((ROOT / definition).read_text())["plugins"]
    (plugin,) = [p for kind in plugins.values() for p in kind]
    return {setting["name"]: setting for setting in plugin["settings"]}


def about_settings(executable: Path) -> dict[str, Any]:
    """The JSON schema of a plugin's settings, as `--about` prints it."""
    about = run([str(executable), "--about", "--format=json"], cwd=ROOT)
    assert about.returncode == 0, about.stderr
    return dict(json.loads(about.stdout)["settings"])


def bad_values(
    name: str, spec: Mapping[str, Any], *, required: bool
) -> Iterator[tuple[str, str | int | None]]:
    """(kind, value) for every kind of bad value a setting's JSON schema allows us to tell."""
    types = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
    if "integer" in types:
        yield "wrong type", "abc"
        yield "out of bounds", str(spec.get("minimum", 0) - 1)
        if "maximum" in spec:
            yield "out of bounds", str(spec["maximum"] + 1)
    elif "boolean" in types:
        yield "wrong type", "maybe"
    elif "object" in types:
        yield "malformed JSON", "{oops"
        yield "wrong type", "[1, 2]"
    else:
        yield "wrong type", 42
    if name.endswith("_url"):
        yield "malformed URL", "not a url"
    if spec.get("format") == "date-time":
        yield "malformed date", "not-a-date"
    if "enum" in spec:
        yield "not an option", "not-an-option"
    if required or spec.get("default") not in (None, ""):
        yield "empty", ""
    if required:
        yield "missing credential", None


def schema_cases(plugin: str, definition: str, schema: Mapping[str, Any]) -> Iterator[Bad]:
    """Every kind of bad value each setting Meltano declares can take."""
    prefix = plugin.upper().replace("-", "_") + "_"
    for name in meltano_settings(definition):
        spec = schema["properties"][name]
        required = name in schema.get("required", [])
        for kind, value in bad_values(name, spec, required=required):
            env = prefix + name.upper()
            yield Bad(plugin, name, env, kind, value, secret=bool(spec.get("secret")))


def tap_cases() -> list[Bad]:
    schema = about_settings(TAP)
    return list(schema_cases("tap-igdb", "extract/tap-igdb.meltano.yml", schema))


def target_cases() -> list[Bad]:
    schema = about_settings(TARGET)
    cases = list(schema_cases("target-s3", "load/target-s3.meltano.yml", schema))
    # What the schema cannot say: an S3 bucket name's rules, and keys come in pairs.
    pair = {"aws_access_key_id": AWS_KEY_ID, "aws_secret_access_key": AWS_SECRET}
    for missing, (given, value) in zip(pair, reversed(pair.items()), strict=True):
        env = f"TARGET_S3_{missing.upper()}"
        others = {f"TARGET_S3_{given.upper()}": value}
        cases.append(Bad("target-s3", missing, env, "missing credential", None, others))
    cases.append(Bad("target-s3", "bucket", "TARGET_S3_BUCKET", "malformed name", "My_Bucket"))
    return cases


def dbt_cases() -> list[Bad]:
    """The utility's own settings (transform/dbt-duckdb.meltano.yml), read by the profile."""
    # meltano.yml's prod derives both roots from the bucket: name one, so the
    # case's own setting is the one at fault.
    prod = {"MELTANO_ENVIRONMENT": "prod", "IGDB_LAKE_BUCKET": "igdb-lake"}
    cases = [
        ("path", "not a file", "/tmp", {}),  # empty: output/igdb.duckdb, as when unset
        ("lake_root", "malformed URL", "s3://", {}),  # prod with IGDB_LAKE_BUCKET unset
        ("lake_root", "malformed URL", "htps://cdn.example.com", {}),
        ("lake_root", "empty", "", prod),  # dev reads output/lake
        ("lake_prefix", "empty", "", {}),
        ("mart_root", "malformed URL", "s3:///marts", {}),
        ("mart_root", "empty", "", prod),  # dev writes output/marts
        ("memory_limit", "wrong type", "lots", {}),
        ("threads", "wrong type", "abc", {}),
        ("threads", "out of bounds", "0", {}),
        ("s3_endpoint", "malformed URL", "http://127.0.0.1:8333", {}),  # host[:port] only
        ("s3_url_style", "not an option", "sideways", {}),
        ("s3_use_ssl", "wrong type", "maybe", {}),
    ]
    declared = meltano_settings("transform/dbt-duckdb.meltano.yml")
    return [
        Bad("dbt-duckdb", name, declared[name]["env"], kind, value, others)
        for name, kind, value, others in cases
    ]


TAP_CASES = tap_cases()
TARGET_CASES = target_cases()
DBT_CASES = dbt_cases()
MATRIX = [*TAP_CASES, *TARGET_CASES, *DBT_CASES]


def representatives() -> list[Bad]:
    """One case per plugin and main kind of bad value that Meltano can pass through
    its environment (every value there is a string): the last one of each."""
    kinds = {"wrong type", "empty", "out of bounds", "malformed URL", "missing credential"}
    chosen = {
        (case.plugin, case.kind): case
        for case in MATRIX
        if case.kind in kinds and not isinstance(case.value, int)
    }
    return list(chosen.values())


def test_the_matrix_covers_every_setting_the_user_can_set() -> None:
    # Any string is a valid value.
    free_strings = {"region", "aws_session_token", "flattening_separator"}
    for definition, cases in [
        ("extract/tap-igdb.meltano.yml", TAP_CASES),
        ("load/target-s3.meltano.yml", TARGET_CASES),
    ]:
        # Through Meltano's environment, the only bad values are the ones a string can be.
        covered = {case.setting for case in cases if not isinstance(case.value, int)}
        assert set(meltano_settings(definition)) - covered - free_strings == set(), definition
    environment_driven = {
        name
        for name, setting in meltano_settings("transform/dbt-duckdb.meltano.yml").items()
        if setting["env"].startswith(("IGDB_", "DBT_DUCKDB_"))
    }
    free_paths = {"temp_directory"}  # DuckDB creates it
    assert {c.setting for c in DBT_CASES} == environment_driven - free_paths


def test_meltano_passes_typed_settings_through_for_the_plugin_to_name() -> None:
    """Meltano casts `kind: integer` itself and fails with a traceback that names no
    setting ("invalid literal for int()"), and turns any `kind: boolean` value it
    does not know into false: our plugins take those settings as strings and check them.
    """
    for definition in (
        "extract/tap-igdb.meltano.yml",
        "load/target-s3.meltano.yml",
        "transform/dbt-duckdb.meltano.yml",
    ):
        for name, setting in meltano_settings(definition).items():
            if setting.get("env", "").startswith("DBT_EXT_"):
                continue  # meltano-dbt-ext's own settings
            assert setting.get("kind", "string") in {"string", "date_iso8601"}, (definition, name)


# --------------------------------------------------------------------------- checks


def assert_one_clear_line(output: str, case: Bad, *, meltano_run: bool = False) -> None:
    """Exactly one line names the setting and says what is wrong with it."""
    naming = [
        line
        for line in output.splitlines()
        if any(re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", line) for n in case.names)
    ]
    assert len(naming) == 1, f"{case}: {len(naming)} lines name it:\n{output[-4000:]}"
    assert re.search(r"(?i)error|invalid|must|missing|not set", naming[0]), naming[0]
    if meltano_run and case.plugin == "target-s3":
        # When the loader exits while the tap still writes, Meltano itself prints
        # tracebacks (BrokenPipeError, then asyncio's "Event loop is closed"):
        # meltano/meltano#7047. None may come from our plugins.
        assert not OUR_TRACEBACK.search(output), f"{case}: a traceback of ours\n{output}"
    else:
        assert "Traceback" not in output, f"{case}: a traceback\n{output[-4000:]}"
    for canary in CANARIES:
        assert canary not in output, f"{case}: a credential was printed"
    if case.secret and isinstance(case.value, str) and case.value:
        assert case.value not in output, f"{case}: the secret value was printed"


def files_under(root: Path) -> dict[str, bytes]:
    if not root.exists():
        return {}
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def config_file(workdir: Path, config: Mapping[str, Any], case: Bad) -> Path:
    """The config file Meltano writes: the setting as given, or absent when unset."""
    prefix = case.env.removesuffix(case.setting.upper())
    others = {env.removeprefix(prefix).lower(): value for env, value in case.others.items()}
    values = {**config, **others, case.setting: case.value}
    if case.value is None:
        del values[case.setting]
    path = workdir / "config.json"
    path.write_text(json.dumps(values))
    return path


# --------------------------------------------------------------------------- the plugins


Ran = tuple[subprocess.CompletedProcess[str], list[str]]  # the run, and what it wrote


def run_tap(workdir: Path, case: Bad) -> Ran:
    config = config_file(workdir, TAP_CONFIG, case)
    result = run([str(TAP), "--config", str(config)], cwd=workdir)
    messages = ["Singer messages on stdout"] if result.stdout else []
    return result, [*sorted(set(files_under(workdir)) - {config.name}), *messages]


def run_target(workdir: Path, case: Bad) -> Ran:
    config = config_file(workdir, {"local_path": str(workdir / "lake")}, case)
    # Run where an empty or relative local_path would land: nothing may appear.
    result = run(
        [str(TARGET), "--config", str(config)], cwd=workdir, input=TARGET_INPUT.read_text()
    )
    state = ["STATE on stdout"] if result.stdout else []
    return result, [*sorted(set(files_under(workdir)) - {config.name}), *state]


def run_dbt(workdir: Path, case: Bad) -> Ran:
    env = {
        **isolated_environment(workdir),
        # What Meltano's dbt utility sets (transform/dbt-duckdb.meltano.yml).
        "MELTANO_PROJECT_ROOT": str(ROOT),
        "DBT_PROJECT_DIR": str(ROOT / "transform"),
        "DBT_PROFILES_DIR": str(ROOT / "transform" / "profiles" / "duckdb"),
        # Else dbt writes a .user.yml id into the profiles directory.
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        **case.others,
        case.env: str(case.value),
    }
    result = run([str(DBT), "run"], cwd=ROOT, env=env)
    # dbt's own artifacts (target/, logs) and the scratch DuckDB file may appear.
    return result, [
        f"{part}/{name}" for part in ("lake", "marts") for name in files_under(workdir / part)
    ]


RUNNERS = {"tap-igdb": run_tap, "target-s3": run_target, "dbt-duckdb": run_dbt}


@pytest.mark.parametrize("case", MATRIX, ids=str)
@pytest.mark.fault_matrix(
    fault="{case}",
    injected="the plugin's config, as Meltano passes it",
    outcome="fails loudly: one line naming the setting, no traceback",
    check="nothing written: no Singer message or state, no lake or mart file",
)
def test_the_plugin_names_the_bad_setting_and_writes_nothing(tmp_path: Path, case: Bad) -> None:
    result, wrote = RUNNERS[case.plugin](tmp_path, case)

    assert result.returncode != 0
    assert_one_clear_line(result.stdout + result.stderr, case)
    assert wrote == []


# --------------------------------------------------------------------------- meltano run


@pytest.fixture(scope="module")
def primed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    """A dev project after one good run of the main job: lake, marts and state."""
    workdir = tmp_path_factory.mktemp("primed")
    with Emulator(Dataset.samples(), EmulatorConfig()) as emulator:
        pipeline = Pipeline(workdir, emulator, pipeline_environment(workdir, emulator))
        pipeline.meltano(*MAIN_JOB)
        yield pipeline


def written(pipeline: Pipeline) -> dict[str, bytes]:
    """Everything a run may write: the lake, the marts and Meltano's state."""
    return {
        f"{part}/{name}": body
        for part in ("lake", "marts", "state")
        for name, body in files_under(pipeline.workdir / part).items()
    }


# Well-formed but refused: only the real token endpoint (the emulator's) can tell.
WRONG_SECRET = Bad(
    "tap-igdb",
    "client_secret",
    "TAP_IGDB_CLIENT_SECRET",
    "refused credential",
    "wrong-secret-3e8d",
    secret=True,
)


@pytest.mark.parametrize("case", [*representatives(), WRONG_SECRET], ids=str)
@pytest.mark.fault_matrix(
    fault="{case}",
    injected="meltano run, environment",
    outcome="fails loudly: one line naming the setting, no traceback",
    check="lake, marts and state unchanged",
)
def test_meltano_run_names_the_bad_setting_and_changes_nothing(primed: Pipeline, case: Bad) -> None:
    env = {k: v for k, v in primed.env.items() if k != case.env}
    if case.value is not None:
        env[case.env] = str(case.value)
        if case.plugin == "dbt-duckdb":
            # Meltano's own variable for the setting: it overrides meltano.yml's
            # environments and is exported to dbt as case.env.
            env[f"DBT_DUCKDB_{case.setting.upper()}"] = str(case.value)
    pipeline = dataclasses.replace(primed, env={**env, **case.others})
    job = ("run", "dbt-duckdb:run") if case.plugin == "dbt-duckdb" else ("run", *MAIN_JOB[1:3])
    before = written(pipeline)

    result = pipeline.meltano(*job, check=False)

    assert result.returncode != 0
    assert_one_clear_line(result.stdout + result.stderr, case, meltano_run=True)
    assert written(pipeline) == before
