"""Datasets: the real samples as served, the generator's determinism, distributions, references."""

import json
from collections import Counter
from pathlib import Path

import pytest
from igdb_emulator import Dataset
from igdb_emulator.entities import ENTITIES
from igdb_emulator.samples import SAMPLES_DIR_ENV, samples_dir
from igdb_emulator.synth import child_rng
from igdb_emulator.synth_children import FAST_FILLS

CHILD_REFERENCES = {
    # game field -> endpoint whose ids it holds
    "platforms": "platforms",
    "genres": "genres",
    "themes": "themes",
    "game_modes": "game_modes",
    "player_perspectives": "player_perspectives",
    "involved_companies": "involved_companies",
    "release_dates": "release_dates",
    "cover": "covers",
    "websites": "websites",
    "external_games": "external_games",
    "age_ratings": "age_ratings",
    "keywords": "keywords",
    "franchises": "franchises",
    "collections": "collections",
    "game_type": "game_types",
    "game_status": "game_statuses",
}


@pytest.fixture(scope="module")
def samples() -> Dataset:
    return Dataset.samples()


@pytest.fixture(scope="module")
def generated() -> Dataset:
    return Dataset.generate(games=20_000, seed=7)


def _is_subsequence(keys: list[str], order: tuple[str, ...]) -> bool:
    positions = [order.index(key) for key in keys]
    return positions == sorted(positions)


def test_real_sample_key_order_matches_the_entity_order() -> None:
    root = samples_dir()
    for path in sorted((root / "gameboy-seeds").glob("*.jsonl")):
        endpoint = path.name.removeprefix("igdb_").removesuffix("_mock.jsonl")
        for line in path.read_text().splitlines():
            keys = list(json.loads(line))
            assert _is_subsequence(keys, ENTITIES[endpoint].fields), (endpoint, keys)


def test_samples_keep_real_records_verbatim(samples: Dataset) -> None:
    root = samples_dir()
    first = json.loads((root / "gameboy-seeds/igdb_games_mock.jsonl").read_text().splitlines()[0])
    served = samples.table("games").get(first["id"])
    assert served == first
    assert list(served) == list(first)


def test_samples_are_complete_and_never_null(samples: Dataset) -> None:
    assert len(samples.table("games")) == 600
    assert len(samples.table("platforms")) == 220
    assert len(samples.table("genres")) == 23
    for endpoint in ENTITIES:
        table = samples.table(endpoint)
        assert len(table) > 0, endpoint
        entity = ENTITIES[endpoint]
        for record in table.records():
            assert None not in record.values(), (endpoint, record["id"])
            assert _is_subsequence(list(record), entity.fields)
            for stamp in ("created_at", "updated_at", "checksum"):
                if stamp in entity.field_set:
                    assert stamp in record, (endpoint, record["id"], stamp)
            if "created_at" in record and "updated_at" in record:
                assert record["created_at"] <= record["updated_at"]


def test_samples_dir_override_with_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(SAMPLES_DIR_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError, match=SAMPLES_DIR_ENV):
        Dataset.samples()


def _references_resolve(dataset: Dataset) -> None:
    ids = {
        endpoint: set(dataset.table(endpoint).snapshot.ids)
        for endpoint in set(CHILD_REFERENCES.values())
    }
    for game in dataset.table("games").records():
        for field, endpoint in CHILD_REFERENCES.items():
            value = game.get(field)
            refs = value if isinstance(value, list) else [] if value is None else [value]
            missing = set(refs) - ids[endpoint]
            assert not missing, (game["id"], field, missing)
    companies = set(dataset.table("companies").snapshot.ids)
    for involvement in dataset.table("involved_companies").records():
        assert involvement["company"] in companies


def test_sample_references_resolve(samples: Dataset) -> None:
    _references_resolve(samples)


def test_generated_references_resolve(generated: Dataset) -> None:
    _references_resolve(generated)
    game_ids = set(generated.table("games").snapshot.ids)
    for game in generated.table("games").records():
        for related in ("similar_games", "parent_game", "bundles", "dlcs", "ports"):
            value = game.get(related)
            refs = value if isinstance(value, list) else [] if value is None else [value]
            assert set(refs) <= game_ids


def test_generation_is_deterministic() -> None:
    first = Dataset.generate(games=2_000, seed=11)
    second = Dataset.generate(games=2_000, seed=11)
    other = Dataset.generate(games=2_000, seed=12)
    for endpoint in ("games", "involved_companies", "covers", "companies"):
        assert first.table(endpoint).snapshot.blobs == second.table(endpoint).snapshot.blobs
    assert first.table("games").snapshot.blobs != other.table("games").snapshot.blobs


def test_generated_distributions(generated: Dataset) -> None:
    games = list(generated.table("games").records())
    assert len(games) == 20_000
    types = Counter(game["game_type"] for game in games)
    assert 0.80 < types[0] / len(games) < 0.87  # 312,418 / 374,555 = 0.834
    assert 0.03 < types[1] / len(games) < 0.065  # dlc 0.047
    assert set(types) <= set(range(15))
    sizes = [len(blob) for blob in generated.table("games").snapshot.blobs]
    assert 1_000 < sum(sizes) / len(sizes) < 1_500  # IGDB: mean 1.27 KB
    presence = Counter(key for game in games for key in game)
    assert 0.85 < presence["platforms"] / len(games) <= 1.0  # samples: 95 %
    assert 0.05 < presence["rating"] / len(games) < 0.25  # samples: 12 %
    for game in games:
        assert None not in game.values()
        assert game["created_at"] <= game["updated_at"] < generated.now
        assert game["url"] == f"https://www.igdb.com/games/{game['slug']}"
        assert 0 <= game.get("rating", 50) <= 100
    recent = sum(game["updated_at"] >= generated.now - 7 * 86_400 for game in games)
    assert 0.05 < recent / len(games) < 0.4
    assert len({game["slug"] for game in games}) == len(games)
    assert len({game["checksum"] for game in games}) == len(games)


def test_lookup_tables_are_the_real_ones(generated: Dataset, samples: Dataset) -> None:
    for endpoint in ("platforms", "genres", "themes", "game_modes", "player_perspectives"):
        assert generated.table(endpoint).snapshot.blobs == samples.table(endpoint).snapshot.blobs
    assert len(generated.table("game_types")) == 15


@pytest.mark.parametrize("endpoint", ["screenshots", "artworks", "language_supports"])
def test_fast_fills_make_the_records_the_field_by_field_plan_makes(endpoint: str) -> None:
    dataset = Dataset.generate(games=50, seed=3)
    filler = dataset._filler()
    games = list(dataset.table("games").records())
    for game in games:
        for child_id in range(game["id"] * 10, game["id"] * 10 + 3):
            fast = FAST_FILLS[endpoint](
                filler,
                {"id": child_id, "game": game["id"]},
                child_rng(3, endpoint, child_id),
                game,
            )
            planned = filler.fill_field_by_field(
                endpoint,
                {"id": child_id, "game": game["id"]},
                child_rng(3, endpoint, child_id),
                game,
            )
            assert fast == planned
            dispatched = filler.fill(
                endpoint,
                {"id": child_id, "game": game["id"]},
                child_rng(3, endpoint, child_id),
                game,
            )
            assert dispatched == fast
