"""Throughput of `target-s3`: N IGDB-shaped games piped in, into local disk and SeaweedFS.

Run from the repository root: `.venv/bin/python target-s3/scripts/bench.py [N]`.
Prints records/s and the target process's peak RSS for each destination.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from igdb_emulator.samples import samples_dir
from seaweedfs_fixture import PORT_FLAGS, SeaweedFS, free_ports

SEED = samples_dir() / "gameboy-seeds" / "igdb_games_mock.jsonl"
TARGET = str(Path(sys.executable).with_name("target-s3"))


def make_input(path: Path, count: int) -> None:
    seeds = [json.loads(line) for line in SEED.read_text(encoding="utf-8").splitlines()]
    schema = {"type": "object", "properties": {"id": {"type": "integer"}}}
    with path.open("w", encoding="utf-8") as out:
        out.write(
            json.dumps(
                {
                    "type": "SCHEMA",
                    "stream": "games",
                    "schema": schema,
                    "key_properties": ["id"],
                    "bookmark_properties": ["updated_at"],
                }
            )
        )
        out.write("\n")
        for number in range(count):
            game = dict(
                seeds[number % len(seeds)], id=number + 1, updated_at=1_700_000_000 + number
            )
            out.write(
                json.dumps(
                    {
                        "type": "RECORD",
                        "stream": "games",
                        "record": game,
                        "time_extracted": "2026-11-26T06:00:00+00:00",
                    }
                )
            )
            out.write("\n")
            if number % 10_000 == 9_999:
                out.write(
                    json.dumps(
                        {
                            "type": "STATE",
                            "value": {
                                "bookmarks": {
                                    "games": {"replication_key_value": game["updated_at"]}
                                }
                            },
                        }
                    )
                    + "\n"
                )


def run(config: dict[str, object], data: Path, count: int, label: str) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(config, handle)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    with data.open("rb") as stdin:
        subprocess.run(  # noqa: S603 - our own console script, fixed arguments
            [TARGET, "--config", handle.name],
            stdin=stdin,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
        )
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(
        f"{label}: {count} records in {elapsed:.1f}s = {count / elapsed:,.0f} records/s, "
        f"peak RSS {max(peak, before) / 1024:.0f} MiB"
    )
    Path(handle.name).unlink()


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as work:
        data = Path(work) / "games.singer"
        make_input(data, count)
        print(f"input: {data.stat().st_size / 1e6:.0f} MB")
        run({"local_path": f"{work}/lake"}, data, count, "local disk")
        server = SeaweedFS(
            Path(work) / "weed", dict(zip(PORT_FLAGS, free_ports(len(PORT_FLAGS)), strict=True))
        )
        server.start()
        try:
            server.create_bucket("bench")
            run(
                {
                    "bucket": "bench",
                    "endpoint_url": server.endpoint_url,
                    "region": "us-east-1",
                    "aws_access_key_id": server.access_key,
                    "aws_secret_access_key": server.secret_key,
                },
                data,
                count,
                "SeaweedFS",
            )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
