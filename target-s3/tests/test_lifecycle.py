"""The lifecycle command stores tag-filtered expiry rules on the bucket."""

from __future__ import annotations

from typing import Any

from target_s3.lifecycle import main


def test_lifecycle_rules_are_stored_and_idempotent(
    s3_lake: Any, write_config: Any, capsys: Any
) -> None:
    config = write_config(s3_lake.config)

    assert main(["--config", str(config)]) == 0
    first = capsys.readouterr().out
    rules = s3_lake.client.get_bucket_lifecycle_configuration(Bucket=s3_lake.bucket)["Rules"]
    by_status = {rule["Filter"]["And"]["Tags"][0]["Value"]: rule for rule in rules}
    assert {status: rule["Expiration"]["Days"] for status, rule in by_status.items()} == {
        "temp": 30
    }
    assert all(rule["Filter"]["And"]["Prefix"] == "raw/" for rule in rules)
    assert all(rule["Status"] == "Enabled" for rule in rules)
    assert "set rule target-s3-expire-temp" in first

    assert main(["--config", str(config)]) == 0
    assert "already up to date" in capsys.readouterr().out
    again = s3_lake.client.get_bucket_lifecycle_configuration(Bucket=s3_lake.bucket)["Rules"]
    assert len(again) == 1


def test_no_stored_rule_can_expire_a_listed_or_removed_file(
    s3_lake: Any, write_config: Any
) -> None:
    """S3 counts expiry from creation: a rule on `final` or `outdated` files could delete
    a file the day it leaves its table. Only never-listed `temp` files have a rule."""
    assert main(["--config", str(write_config(s3_lake.config))]) == 0
    key = "raw/games/dt=2026-11-26/batch-20261126T060000Z-0.jsonl.gz"

    for status in ("final", "outdated"):
        assert s3_lake.expiring_rules(key, {"status": status}, age_days=36_500) == []
    assert s3_lake.expiring_rules(key, {"status": "temp"}, age_days=29) == []
    assert s3_lake.expiring_rules(key, {"status": "temp"}, age_days=30) == [
        "target-s3-expire-temp"
    ]  # the backstop, should no vacuum run for a month


def test_an_older_targets_rules_are_replaced(s3_lake: Any, write_config: Any, capsys: Any) -> None:
    """The rules of earlier versions (outdated after 7 days, temp after 1) go."""

    def old_rule(status: str, days: int) -> dict[str, Any]:
        return {
            "ID": f"target-s3-expire-{status}",
            "Status": "Enabled",
            "Filter": {"And": {"Prefix": "raw/", "Tags": [{"Key": "status", "Value": status}]}},
            "Expiration": {"Days": days},
        }

    s3_lake.client.put_bucket_lifecycle_configuration(
        Bucket=s3_lake.bucket,
        LifecycleConfiguration={"Rules": [old_rule("outdated", 7), old_rule("temp", 1)]},
    )

    assert main(["--config", str(write_config(s3_lake.config))]) == 0

    output = capsys.readouterr().out
    assert "removed rule target-s3-expire-outdated" in output
    assert "set rule target-s3-expire-temp" in output
    rules = s3_lake.client.get_bucket_lifecycle_configuration(Bucket=s3_lake.bucket)["Rules"]
    assert [(rule["ID"], rule["Expiration"]["Days"]) for rule in rules] == [
        ("target-s3-expire-temp", 30)
    ]


def test_lifecycle_keeps_foreign_rules(s3_lake: Any, write_config: Any, capsys: Any) -> None:
    foreign = {
        "ID": "someone-else",
        "Status": "Enabled",
        "Filter": {"Prefix": "logs/"},
        "Expiration": {"Days": 30},
    }
    s3_lake.client.put_bucket_lifecycle_configuration(
        Bucket=s3_lake.bucket, LifecycleConfiguration={"Rules": [foreign]}
    )
    assert main(["--config", str(write_config(s3_lake.config))]) == 0
    rules = s3_lake.client.get_bucket_lifecycle_configuration(Bucket=s3_lake.bucket)["Rules"]
    assert {rule["ID"] for rule in rules} == {"someone-else", "target-s3-expire-temp"}


def test_local_lake_has_no_lifecycle(local_lake: Any, write_config: Any, capsys: Any) -> None:
    assert main(["--config", str(write_config(local_lake.config))]) == 0
    assert "local lakes have no lifecycle rules" in capsys.readouterr().out


def test_lifecycle_reads_the_settings_meltano_exports_when_no_config_is_given(
    s3_lake: Any, capsys: Any, monkeypatch: Any
) -> None:
    """`meltano invoke target-s3:lifecycle` passes settings as TARGET_S3_* variables."""
    for name, value in s3_lake.config.items():
        monkeypatch.setenv(f"TARGET_S3_{name.upper()}", str(value))

    assert main([]) == 0

    rules = s3_lake.client.get_bucket_lifecycle_configuration(Bucket=s3_lake.bucket)["Rules"]
    assert {rule["ID"] for rule in rules} == {"target-s3-expire-temp"}
    assert "set rule target-s3-expire-temp" in capsys.readouterr().out
