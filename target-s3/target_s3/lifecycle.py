"""`target-s3-lifecycle`: store the bucket's backstop rule for files never listed.

The grace and the clean-up are the vacuum's (target_s3.vacuum): it counts from
the moment a file left its table. A lifecycle rule counts from an object's
creation, so a rule on removed (`outdated`) or listed (`final`) files could
delete a file listed for longer than its days on the very day it left its
table: there is none. The one rule expires `status=temp` objects, which were
never listed (a file is tagged `final` before the manifest write that lists
it), after `TEMP_DAYS`: a backstop, should the vacuum not run for a month,
far beyond the longest run (the job's 4 hours) that may still list them.
Rules of earlier versions (`target-s3-expire-outdated`) are removed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from target_s3.lake import DEFAULT_PREFIX, STATUS_TAG, STATUS_TEMP, Status, layer_folder
from target_s3.settings import config_from_environment
from target_s3.storage import S3Settings, make_s3_client

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import LifecycleRuleOutputTypeDef, LifecycleRuleTypeDef

RULE_PREFIX = "target-s3-"  # every rule with this ID prefix is ours: kept as desired
TEMP_DAYS = 30


def desired_rules(prefix: str) -> list[LifecycleRuleTypeDef]:
    """The tag-filtered expiry rule under the raw-layer prefix."""

    def rule(status: Status, days: int) -> LifecycleRuleTypeDef:
        return {
            "ID": f"{RULE_PREFIX}expire-{status}",
            "Status": "Enabled",
            "Filter": {
                "And": {
                    "Prefix": layer_folder(prefix),
                    "Tags": [{"Key": STATUS_TAG, "Value": status}],
                }
            },
            "Expiration": {"Days": days},
        }

    return [rule(STATUS_TEMP, TEMP_DAYS)]


def current_rules(client: S3Client, bucket: str) -> list[LifecycleRuleOutputTypeDef]:
    try:
        return client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchLifecycleConfiguration":
            return []
        raise


def apply_lifecycle(client: S3Client, bucket: str, prefix: str) -> list[str]:
    """Put our rules, drop our stale ones, keep other rules; returns what was done."""
    existing = current_rules(client, bucket)
    ours = {rule["ID"]: rule for rule in desired_rules(prefix)}
    present = {rule.get("ID", ""): rule for rule in existing if rule.get("ID", "") in ours}
    changed = [rule_id for rule_id, rule in ours.items() if not _same(present.get(rule_id), rule)]
    stale = [
        rule.get("ID", "")
        for rule in existing
        if rule.get("ID", "").startswith(RULE_PREFIX) and rule.get("ID", "") not in ours
    ]
    if not changed and not stale:
        return [f"lifecycle rules on bucket '{bucket}' already up to date"]
    foreign = [rule for rule in existing if not rule.get("ID", "").startswith(RULE_PREFIX)]
    client.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={"Rules": [*foreign, *ours.values()]},
    )
    return [f"removed rule {rule_id} from bucket '{bucket}'" for rule_id in stale] + [
        f"set rule {rule_id} on bucket '{bucket}'" for rule_id in changed
    ]


def _same(stored: Any, wanted: Any) -> bool:
    if stored is None:
        return False
    keys = ("Status", "Filter", "Expiration")
    return all(_normalise(stored.get(key)) == _normalise(wanted.get(key)) for key in keys)


def _normalise(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="target-s3-lifecycle",
        description="Store the bucket lifecycle rule for target-s3's never-listed files.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        help="target-s3 config JSON; without it, the TARGET_S3_* variables Meltano exports",
    )
    args = parser.parse_args(argv)
    if args.config is None:
        config = config_from_environment(os.environ)
    else:
        try:
            config = json.loads(args.config.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            print(f"target-s3-lifecycle: cannot read config {args.config}: {exc}", file=sys.stderr)
            return 2
    bucket = config.get("bucket")
    if not bucket:
        print("target-s3-lifecycle: no 'bucket' set: local lakes have no lifecycle rules")
        return 0
    client = make_s3_client(S3Settings.from_config(config))
    prefix = str(config.get("prefix") or DEFAULT_PREFIX).strip("/")
    try:
        for line in apply_lifecycle(client, bucket, prefix):
            print(line)
    except (ClientError, BotoCoreError) as exc:
        print(f"target-s3-lifecycle: bucket '{bucket}': {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
