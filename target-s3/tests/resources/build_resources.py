"""Regenerate the recorded .singer inputs from the real IGDB samples.

Run from the repository root: `.venv/bin/python target-s3/tests/resources/build_resources.py`.
Records are copied verbatim (raw JSON lines, never re-encoded), so float and
unicode spellings are exactly IGDB's.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from igdb_emulator import Dataset
from igdb_emulator.samples import samples_dir

SEEDS = samples_dir() / "gameboy-seeds"
HERE = Path(__file__).parent
BATCHES = HERE / "batches"
# BATCH messages name their files by URL; the tests put the folder's URL here
# (`file:///.../batches` or `s3://bucket/batches`, see tests/conftest.py).
BATCH_ROOT = "BATCH_ROOT"
BATCH_GAMES = 1_200
BATCH_FILES = 3
# The fields kept from the emulator's games: small files, every JSON type.
BATCH_FIELDS = ("id", "name", "slug", "aggregated_rating", "platforms", "created_at", "updated_at")
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

    write_batches(games_schema)
    write_one_stream_failing(games_schema, genres_schema, ordered, genres)


def write_batches(games_schema: str) -> None:
    """1,200 games in three files, gzipped and plain, and the BATCH inputs naming them.

    The games come from the emulator's generator (the samples have 100); each
    file holds raw JSON records, one per line, as the SDK's batcher writes them.
    """
    generated = Dataset.generate(games=BATCH_GAMES, seed=13).table("games").records()
    games = [{name: game[name] for name in BATCH_FIELDS if name in game} for game in generated]
    BATCHES.mkdir(exist_ok=True)
    size = BATCH_GAMES // BATCH_FILES
    names = []
    for number in range(BATCH_FILES):
        chunk = games[number * size : (number + 1) * size]
        text = "".join(json.dumps(game, ensure_ascii=False) + "\n" for game in chunk).encode()
        name = f"games-{number + 1}.jsonl"
        (BATCHES / name).write_bytes(text)
        (BATCHES / f"{name}.gz").write_bytes(gzip.compress(text, mtime=0))
        names.append(name)
    schema = json.loads(games_schema)
    schema["schema"] = schema_for([json.dumps(game) for game in games])
    schema_line = json.dumps(schema)
    last = state("games", max(game["updated_at"] for game in games))

    def batch(compression: str, suffix: str, kind: str = "jsonl") -> str:
        return message(
            "BATCH",
            "games",
            encoding={"format": kind, "compression": compression},
            manifest=[f"{BATCH_ROOT}/{name}{suffix}" for name in names],
        )

    write("games_batch_gzip.singer", [schema_line, batch("gzip", ".gz"), last])
    write("games_batch_jsonl.singer", [schema_line, batch("none", ""), last])
    write("games_batch_parquet.singer", [schema_line, batch("none", "", "parquet"), last])
    # A full refresh in batch mode: the BATCH inside the stream's version.
    version = message("ACTIVATE_VERSION", "games", version=VERSION)
    write(
        "games_batch_in_version.singer",
        [schema_line, state("games", None), version, batch("gzip", ".gz"), last, version, last],
    )


def write_one_stream_failing(
    games_schema: str, genres_schema: str, games: list[str], genres: list[str]
) -> None:
    """Stream A (games) fails inside its version; B (platforms) and C (genres) complete.

    As the tap sends a run in which games is read from scratch and its reads
    fail before the closing ACTIVATE_VERSION, while the streams after it carry
    on: platforms incremental from its bookmark, genres a versioned snapshot.
    Each STATE carries every stream's bookmark, as the SDK's do.
    """
    platforms = (SEEDS / "igdb_platforms_mock.jsonl").read_text(encoding="utf-8").splitlines()
    platforms_schema = message(
        "SCHEMA",
        "platforms",
        schema=schema_for(platforms),
        key_properties=["id"],
        bookmark_properties=["updated_at"],
    )
    bookmarks: dict[str, object] = {
        "games": {"replication_key": "updated_at", "replication_key_value": 1_600_000_000},
        "platforms": {"replication_key": "updated_at", "replication_key_value": 1_600_000_000},
    }

    def current_state() -> str:
        return json.dumps({"type": "STATE", "value": {"bookmarks": bookmarks}})

    def moved(stream: str, lines: list[str]) -> str:
        newest = max(json.loads(line)["updated_at"] for line in lines)
        bookmarks[stream] = {"replication_key": "updated_at", "replication_key_value": newest}
        return current_state()

    open_games = message("ACTIVATE_VERSION", "games", version=VERSION)
    lines = [games_schema, current_state(), open_games]
    for start in range(0, 60, 20):  # the reads fail after 60 games
        chunk = games[start : start + 20]
        lines += [record("games", line) for line in chunk]
        lines.append(moved("games", chunk))
    lines.append(platforms_schema)
    newer = [line for line in platforms if json.loads(line)["updated_at"] > 1_600_000_000]
    lines += [record("platforms", line) for line in newer]
    lines.append(moved("platforms", newer))
    activate_genres = message("ACTIVATE_VERSION", "genres", version=VERSION)
    lines += [genres_schema, activate_genres, *(record("genres", line) for line in genres)]
    bookmarks["genres"] = {}
    lines += [activate_genres, current_state()]
    write("three_streams_the_first_fails_in_its_version.singer", lines)


if __name__ == "__main__":
    main()
