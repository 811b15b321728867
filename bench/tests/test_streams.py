"""Per-stream numbers: what each stream landed and the requests that named it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.streams import (
    ALL_STREAMS,
    INCREMENTAL_STREAMS,
    ListedFile,
    listed_files,
    per_stream,
)
from tests.support.lake import LocalLake


def _request(
    endpoint: str, body: str = "", time: float = 0.0, duration: float = 1.0, status: int = 200
) -> dict[str, Any]:
    return {
        "time": time,
        "endpoint": endpoint,
        "body": body,
        "status": status,
        "duration": duration,
    }


def _multiquery(*blocks: str) -> str:
    return "".join(f'query {block} "{block}-{i}" {{ fields *; limit 500; }};\n'
                   for i, block in enumerate(blocks))  # fmt: skip


LOG = [
    _request("oauth2/token", time=0.0, duration=0.1),
    _request("games/count", "where updated_at >= 0;", time=1.0, duration=0.5),
    _request("multiquery", _multiquery("games", "games", "covers"), time=2.0, duration=3.0),
    _request("covers", "fields *; limit 500; offset 500;", time=4.0, duration=2.5),
    _request("multiquery", _multiquery("platforms/count", "genres"), time=5.0, duration=1.0),
]


def test_requests_are_attributed_to_every_stream_they_name() -> None:
    numbers = per_stream(("games", "covers", "platforms", "genres"), {}, {}, LOG)

    games, covers = numbers["games"], numbers["covers"]
    assert (games.requests, games.blocks) == (2, 2)  # the count request and the multiquery
    assert games.seconds == pytest.approx(5.0 - 1.0)  # first start 1.0, last end 2.0 + 3.0
    assert (covers.requests, covers.blocks) == (2, 1)  # shares the multiquery with games
    assert covers.seconds == pytest.approx(6.5 - 2.0)
    assert (numbers["platforms"].requests, numbers["platforms"].blocks) == (1, 1)  # a count block
    assert numbers["genres"].seconds == pytest.approx(1.0)


def test_the_token_request_names_no_stream_and_a_silent_stream_has_zeros() -> None:
    numbers = per_stream(("games", "themes"), {}, {}, LOG)

    assert "oauth2/token" not in numbers
    assert (numbers["themes"].requests, numbers["themes"].seconds) == (0, 0.0)


def test_records_and_bytes_count_only_the_files_new_in_the_step() -> None:
    before = {"raw/games/a.jsonl.gz": ListedFile("games", 500, 9000)}
    after = {
        **before,
        "raw/games/b.jsonl.gz": ListedFile("games", 20, 400),
        "raw/games/c.jsonl.gz": ListedFile("games", 5, 100),
        "raw/dimensions/genres/d.jsonl": ListedFile("genres", 23, 1500),
    }

    numbers = per_stream(("games", "genres", "themes"), before, after, [])

    assert (numbers["games"].records, numbers["games"].bytes) == (25, 500)
    assert (numbers["genres"].records, numbers["genres"].bytes) == (23, 1500)
    assert (numbers["themes"].records, numbers["themes"].bytes) == (0, 0)


def _write_manifest(root: Path, base: str, files: list[dict[str, Any]]) -> None:
    (root / base).mkdir(parents=True)
    (root / base / "_manifest.json").write_text(json.dumps({"files": files}))


def test_listed_files_reads_each_streams_manifest(tmp_path: Path) -> None:
    _write_manifest(tmp_path, "raw/games", [{"key": "raw/games/a", "records": 3, "bytes": 70}])
    _write_manifest(
        tmp_path,
        "raw/dimensions/genres",
        [{"key": "raw/dimensions/genres/b", "records": 2, "bytes": 9}],
    )

    files = listed_files(LocalLake(tmp_path), ("games", "genres", "themes"))

    assert files == {
        "raw/games/a": ListedFile("games", 3, 70),
        "raw/dimensions/genres/b": ListedFile("genres", 2, 9),
    }


def test_every_stream_is_known_and_games_is_incremental() -> None:
    assert len(ALL_STREAMS) == 74
    assert "games" in INCREMENTAL_STREAMS
    assert "genres" not in INCREMENTAL_STREAMS
    assert set(INCREMENTAL_STREAMS) < set(ALL_STREAMS)
