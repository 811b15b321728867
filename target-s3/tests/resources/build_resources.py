"""Regenerate the recorded .singer inputs from the real IGDB samples.

Run from the repository root: `.venv/bin/python target-s3/tests/resources/build_resources.py`.
Records are copied verbatim (raw JSON lines, never re-encoded), so float and
unicode spellings are exactly IGDB's.
"""

from __future__ import annotations

import json
from pathlib import Path

from igdb_emulator.samples import samples_dir

SEEDS = samples_dir() / "gameboy-seeds"
HERE = Path(__file__).parent
EXTRACTED = "2026-11-26T06:00:00.000000+00:00"
VERSION = 1764136800123


def schema_for(lines: list[str], *, leave_out: str | None = None) -> dict[str, object]:
    """A schema inferred from the samples; `leave_out` proves unknown fields survive."""
    kinds = {int: "integer", float: "number", str: "string"}
    properties: dict[str, object] = {}
    for line in lines:
        for name, value in json.loads(line).items():
            if name == leave_out:
                continue
            if isinstance(value, list):
                properties[name] = {"type": ["array", "null"], "items": {"type": "integer"}}
            else:
                properties[name] = {"type": [kinds[type(value)], "null"]}
    return {"type": "object", "properties": properties}


def message(kind: str, stream: str, **fields: object) -> str:
    return json.dumps({"type": kind, "stream": stream, **fields})


def record(stream: str, raw_line: str) -> str:
    # Splice the raw IGDB line in untouched.
    return (
        f'{{"type": "RECORD", "stream": "{stream}", "record": {raw_line.strip()}, '
        f'"time_extracted": "{EXTRACTED}"}}'
    )


def state(stream: str, value: int | None) -> str:
    bookmarks = {} if value is None else {stream: {"replication_key_value": value}}
    return json.dumps({"type": "STATE", "value": {"bookmarks": bookmarks}})


def write(name: str, lines: list[str]) -> None:
    (HERE / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    games = (SEEDS / "igdb_games_mock.jsonl").read_text(encoding="utf-8").splitlines()
    genres = (SEEDS / "igdb_genres_mock.jsonl").read_text(encoding="utf-8").splitlines()
    games_schema = message(
        "SCHEMA",
        "games",
        schema=schema_for(games, leave_out="storyline"),
        key_properties=["id"],
        bookmark_properties=["updated_at"],
    )
    genres_schema = message(
        "SCHEMA",
        "genres",
        schema=schema_for(genres),
        key_properties=["id"],
        bookmark_properties=[],
    )

    # An incremental run: records in updated_at order, a STATE every 25 records.
    ordered = sorted(games, key=lambda line: json.loads(line)["updated_at"])
    incremental = [games_schema]
    for start in range(0, len(ordered), 25):
        chunk = ordered[start : start + 25]
        incremental += [record("games", line) for line in chunk]
        incremental.append(state("games", json.loads(chunk[-1])["updated_at"]))
    write("games_incremental.singer", incremental)

    # A snapshot stream read from scratch: the version opens, records, version completes.
    activate = message("ACTIVATE_VERSION", "genres", version=VERSION)
    write(
        "genres_snapshot.singer",
        [
            genres_schema,
            activate,
            *(record("genres", line) for line in genres),
            activate,
            state("genres", None),
        ],
    )

    # A full refresh of games: the same, with bookmarks inside the version.
    open_games = message("ACTIVATE_VERSION", "games", version=VERSION)
    full = [games_schema, state("games", None), open_games]
    for start in range(0, len(ordered), 50):
        chunk = ordered[start : start + 50]
        full += [record("games", line) for line in chunk]
        full.append(state("games", json.loads(chunk[-1])["updated_at"]))
    write("games_full_refresh.singer", [*full, open_games, full[-1]])

    # The same full refresh, but the tap died before the closing ACTIVATE_VERSION.
    write("games_full_refresh_incomplete.singer", full)


if __name__ == "__main__":
    main()
