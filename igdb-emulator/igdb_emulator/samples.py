"""Load the real IGDB sample responses bundled in igdb_emulator/samples/ (see its README.md).

Two sets are merged: gameboy-seeds (`fields *`, wins for the same id) and rag-sample
(selected fields). Records are returned as dicts per endpoint, as found; the dataset
module fills what real IGDB always returns but a sample left out.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from igdb_emulator.records import Record

SAMPLES_DIR_ENV = "IGDB_EMULATOR_SAMPLES_DIR"

_GAMEBOY = {
    "games": "igdb_games_mock.jsonl",
    "platforms": "igdb_platforms_mock.jsonl",
    "genres": "igdb_genres_mock.jsonl",
    "themes": "igdb_themes_mock.jsonl",
    "game_modes": "igdb_game_modes_mock.jsonl",
    "player_perspectives": "igdb_player_perspectives_mock.jsonl",
}
_RAG = (
    "games",
    "platforms",
    "genres",
    "themes",
    "game_modes",
    "player_perspectives",
    "involved_companies",
    "companies",
    "release_dates",
    "external_games",
    "websites",
    "keywords",
    "covers",
    "game_types",
    "game_statuses",
    "platform_types",
    "popularity_types",
)


BUNDLED_SAMPLES_DIR = Path(__file__).resolve().parent / "samples"


def samples_dir() -> Path:
    """$IGDB_EMULATOR_SAMPLES_DIR, else the real IGDB responses bundled with the package."""
    override = os.environ.get(SAMPLES_DIR_ENV)
    candidate = Path(override) if override else BUNDLED_SAMPLES_DIR
    if (candidate / "gameboy-seeds").is_dir() and (candidate / "rag-sample").is_dir():
        return candidate
    raise FileNotFoundError(
        f"IGDB sample data not found in {candidate}; set {SAMPLES_DIR_ENV} to the folder "
        "holding gameboy-seeds/ and rag-sample/"
    )


def load_samples(directory: Path | None = None) -> dict[str, list[Record]]:
    """Records per endpoint, merged by id (gameboy-seeds first), each list sorted by id."""
    root = directory or samples_dir()
    merged: dict[str, dict[int, Record]] = {}
    for endpoint, filename in _GAMEBOY.items():
        for record in _read_jsonl(root / "gameboy-seeds" / filename):
            merged.setdefault(endpoint, {})[record["id"]] = record
    for endpoint in _RAG:
        for record in _read_json_array(root / "rag-sample" / f"{endpoint}.json"):
            merged.setdefault(endpoint, {}).setdefault(record["id"], record)
    return {
        endpoint: [records[record_id] for record_id in sorted(records)]
        for endpoint, records in merged.items()
    }


def _read_jsonl(path: Path) -> list[Record]:
    with path.open(encoding="utf-8") as lines:
        return [_object(json.loads(line), path) for line in lines if line.strip()]


def _read_json_array(path: Path) -> list[Record]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise TypeError(f"{path}: expected a JSON array of records")
    return [_object(item, path) for item in data]


def _object(item: Any, path: Path) -> Record:
    if not isinstance(item, dict) or not isinstance(item.get("id"), int):
        raise TypeError(f"{path}: every record must be a JSON object with an integer id")
    return item
