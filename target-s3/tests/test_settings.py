"""Bad settings: one error line naming the setting, no traceback, nothing written."""

from __future__ import annotations

import ast
import copy
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from singer_sdk.exceptions import ConfigValidationError
from target_s3.settings import BOOLEAN_WORDS
from target_s3.target import TargetS3

GAMES_INPUT = "games_incremental.singer"
SETTING_ERROR = re.compile(r"^.*ERROR.*target-s3: setting '(\w+)' must .+$")

BAD_SETTINGS = [
    ("local_path", {"local_path": ""}, "must not be empty when 'bucket' is empty"),
    ("prefix", {"prefix": "/"}, "must not be empty"),
    ("batch_size_records", {"batch_size_records": 0}, "got 0"),
    ("batch_size_records", {"batch_size_records": "ten"}, "got 'ten'"),
    ("batch_size_bytes", {"batch_size_bytes": -5}, "got -5"),
    ("compression", {"compression": "zip"}, "must be 'gzip' or 'none', got 'zip'"),
    ("max_retries", {"max_retries": -1}, "got -1"),
    ("validate_records", {"validate_records": "maybe"}, "must be true or false"),
    ("batch_size_records", {"batch_size_records": "1.5"}, "got '1.5'"),
    ("bucket", {"bucket": "My_Bucket"}, "must be an S3 bucket name"),
    ("lock_wait_seconds", {"lock_wait_seconds": -1}, "from 0 to 86400, got -1"),
    ("lock_ttl_seconds", {"lock_ttl_seconds": 5}, "from 30 to 86400, got 5"),
    ("lock_ttl_seconds", {"lock_ttl_seconds": "long"}, "got 'long'"),
    ("grace_days", {"grace_days": 0}, "must be an integer from 1 to 365, got 0"),
    (
        "endpoint_url",
        {"bucket": "lake", "endpoint_url": "not a url"},
        "must be an http(s) URL",
    ),
    (
        "aws_secret_access_key",
        {"bucket": "lake", "aws_access_key_id": "AKIATEST"},
        "must be set together with 'aws_access_key_id'",
    ),
    (
        "aws_secret_access_key",
        {"bucket": "lake", "aws_access_key_id": "AKIATEST", "aws_secret_access_key": 12345},
        "must be a string",
    ),
]


@pytest.mark.parametrize(
    ("name", "bad", "explanation"), BAD_SETTINGS, ids=[case[0] for case in BAD_SETTINGS]
)
def test_a_bad_setting_is_one_line_naming_it(
    name: str,
    bad: dict[str, Any],
    explanation: str,
    local_lake: Any,
    singer: Any,
    write_config: Any,
) -> None:
    config = write_config({**local_lake.config, **bad})
    result = subprocess.run(
        [singer.target_bin, "--config", str(config)],
        input="\n".join(singer.lines(GAMES_INPUT)) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=local_lake.root.parent,  # an empty local_path must not mean "here"
    )

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1, result.stderr
    match = SETTING_ERROR.match(errors[0])
    assert match, errors[0]
    assert match.group(1) == name
    assert explanation in errors[0]
    assert "12345" not in result.stderr  # a secret's value is never echoed
    assert result.stdout == ""  # no state
    assert sorted(path.name for path in local_lake.root.parent.iterdir()) == sorted(
        config.name for config in local_lake.root.parent.glob("config-*.json")
    )  # nothing written: no lake, no raw/ folder in the working directory


def test_integers_and_booleans_given_as_strings_are_parsed(local_lake: Any) -> None:
    """Meltano passes these settings through as strings (load/target-s3.meltano.yml)."""
    as_strings = {"batch_size_records": " 2 ", "max_retries": "0", "validate_records": "False"}

    target = TargetS3(config={**local_lake.config, **as_strings})

    assert target.settings.batch_size_records == 2
    assert target.config["max_retries"] == 0
    assert target.config["validate_records"] is False


def test_the_boolean_vocabulary_is_the_projects() -> None:
    """The same words in every plugin (a root test compares the tap's and dbt's)."""
    assert BOOLEAN_WORDS == {
        "true": True,
        "1": True,
        "yes": True,
        "on": True,
        "false": False,
        "0": False,
        "no": False,
        "off": False,
    }


@pytest.mark.parametrize(("word", "meaning"), [(" YES ", True), ("On", True), ("OFF", False)])
def test_boolean_words_are_read_whatever_their_case_and_spacing(
    word: str, meaning: bool, local_lake: Any
) -> None:
    target = TargetS3(config={**local_lake.config, "validate_records": word})
    assert target.config["validate_records"] is meaning


def test_every_integer_setting_declares_its_bounds_in_the_schema() -> None:
    properties = TargetS3.config_jsonschema["properties"]
    integers = [name for name, spec in properties.items() if "integer" in spec["type"]]
    assert "batch_size_records" in integers
    assert [name for name in integers if "minimum" not in properties[name]] == []


def test_the_bounds_come_from_the_schema_alone(
    local_lake: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Declared once: a bound changed in the schema changes the check and its message."""
    schema = copy.deepcopy(TargetS3.config_jsonschema)
    schema["properties"]["lock_wait_seconds"]["maximum"] = 60
    monkeypatch.setattr(TargetS3, "config_jsonschema", schema)

    with pytest.raises(ConfigValidationError) as raised:
        TargetS3(config={**local_lake.config, "lock_wait_seconds": "61"})

    assert raised.value.errors == [
        "setting 'lock_wait_seconds' must be an integer from 0 to 60, got 61"
    ]


def test_several_bad_settings_are_one_line_each_and_a_secret_is_never_shown(
    local_lake: Any,
) -> None:
    bad = {"max_retries": "many", "compression": "zip", "aws_session_token": 42}

    with pytest.raises(ConfigValidationError) as raised:
        TargetS3(config={**local_lake.config, **bad})

    assert raised.value.errors == [
        "setting 'aws_session_token' must be a string",
        "setting 'compression' must be 'gzip' or 'none', got 'zip'",
        "setting 'max_retries' must be an integer of zero or more, got 'many'",
    ]


# Every setting `target-s3 --about` advertises, with the test that shows its effect
# (file::function under tests/), or CONNECTION: where the lake is and how to reach it.
CONNECTION = "connection"
ADVERTISED: dict[str, str] = {
    "bucket": CONNECTION,
    "local_path": CONNECTION,
    "endpoint_url": CONNECTION,
    "region": CONNECTION,
    "aws_access_key_id": CONNECTION,
    "aws_secret_access_key": CONNECTION,
    "aws_session_token": CONNECTION,
    "prefix": "test_raw_layer.py::test_the_prefix_is_the_top_level_folder_of_every_key",
    "compression": "test_raw_layer.py::test_gzip_is_the_default_and_none_writes_plain_jsonl",
    "batch_size_records": "test_raw_layer.py::test_incremental_layout_and_manifest",
    "batch_size_bytes": "test_raw_layer.py::test_batches_split_by_bytes",
    "validate_records": "test_faults.py::test_validate_records_rejects_a_record_against_its_schema",
    "max_retries": (
        "test_storage.py::test_a_failing_call_is_tried_exactly_max_retries_plus_one_times"
    ),
    "lock_wait_seconds": (
        "test_faults.py::test_two_concurrent_writers_take_turns_and_lose_no_manifest_entry"
    ),
    "lock_ttl_seconds": "test_faults.py::test_the_lease_a_target_takes_lasts_lock_ttl_seconds",
    "grace_days": "test_vacuum.py::test_the_grace_is_the_grace_days_setting",
}
# Settings the SDK would add that target-s3 cannot honour (README, "Settings"): never
# advertised, and refused when given.
REFUSED = {
    "load_method": "overwrite",
    "add_record_metadata": False,
    "batch_size_rows": 10,
    "batch_config": {"encoding": {"format": "jsonl", "compression": "gzip"}},
    "process_activate_version_messages": False,
}


def test_about_advertises_exactly_the_settings_with_an_effect(singer: Any) -> None:
    result = subprocess.run(
        [singer.target_bin, "--about", "--format=json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    about = json.loads(result.stdout)

    assert set(about["settings"]["properties"]) == set(ADVERTISED)
    assert about["capabilities"] == ["about", "batch", "structured-logging", "validate-records"]
    assert not set(REFUSED) & set(about["settings"]["properties"])


@pytest.mark.parametrize("name", [name for name, test in ADVERTISED.items() if test != CONNECTION])
def test_each_advertised_setting_names_a_test_of_its_effect_that_exists(name: str) -> None:
    module, function = ADVERTISED[name].split("::")
    tree = ast.parse((Path(__file__).parent / module).read_text(encoding="utf-8"))

    defined = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}

    assert function in defined, f"{name}: {ADVERTISED[name]} does not exist"


@pytest.mark.parametrize("name", list(REFUSED))
def test_a_setting_target_s3_cannot_honour_is_refused_in_one_line(
    name: str, local_lake: Any
) -> None:
    with pytest.raises(ConfigValidationError) as raised:
        TargetS3(config={**local_lake.config, name: REFUSED[name]})

    [error] = raised.value.errors
    assert error.startswith(f"setting '{name}' is not supported by target-s3: ")
