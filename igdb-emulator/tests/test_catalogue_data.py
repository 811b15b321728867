"""Every catalogue endpoint: served with IGDB's shapes, references resolving, lazily built."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from igdb_emulator import Dataset, EmulatorConfig
from igdb_emulator.changes import advance_day
from igdb_emulator.entities import ENTITIES, Entity
from igdb_emulator.pytest_plugin import EmulatorFactory
from igdb_emulator.samples import load_samples

if TYPE_CHECKING:
    from conftest import Connect


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return _is_int(value) or isinstance(value, float)


def _list_of(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, list) and bool(value) and all(map(check, value))


KIND_CHECKS: dict[str, Callable[[Any], bool]] = {
    "int": _is_int,
    "time": _is_int,
    "enum": _is_int,
    "ref": _is_int,
    "number": _is_number,
    "string": lambda value: isinstance(value, str),
    "bool": lambda value: isinstance(value, bool),
    "refs": _list_of(_is_int),
    "ints": _list_of(_is_int),
    "strings": _list_of(lambda value: isinstance(value, str)),
    "numbers": _list_of(_is_number),
}


@pytest.fixture(scope="module")
def samples() -> Dataset:
    return Dataset.samples()


@pytest.fixture(scope="module")
def generated() -> Dataset:
    return Dataset.generate(games=2_000, seed=3)


def _check_shape(entity: Entity, record: dict[str, Any]) -> None:
    kinds = {field.name: field.kind for field in entity.kinds}
    positions = [entity.fields.index(key) for key in record]  # ValueError: unknown key
    assert positions == sorted(positions), (entity.name, list(record))
    for key, value in record.items():
        assert KIND_CHECKS[kinds[key]](value), (entity.name, record["id"], key, value)


def test_every_endpoint_is_served_with_the_catalogue_shapes(
    igdb_emulator_factory: EmulatorFactory, connect: Connect
) -> None:
    emulator = igdb_emulator_factory(
        dataset=Dataset.generate(games=300, seed=1), config=EmulatorConfig.unthrottled()
    )
    client = connect(emulator)
    assert len(ENTITIES) == 74
    for endpoint, entity in ENTITIES.items():
        reply = client.api(endpoint, "fields *; sort id asc; limit 500;")
        assert reply.status == 200, (endpoint, reply.body[:200])
        records = reply.json()
        assert records, endpoint
        for record in records:
            _check_shape(entity, record)


def _dangling(dataset: Dataset) -> dict[tuple[str, str], set[int]]:
    ids = {endpoint: set(dataset.table(endpoint).snapshot.ids) for endpoint in ENTITIES}
    missing: dict[tuple[str, str], set[int]] = {}
    for endpoint, entity in ENTITIES.items():
        for record in dataset.table(endpoint).records():
            for field in entity.references:
                assert field.target is not None
                value = record.get(field.name)
                refs = value if isinstance(value, list) else [] if value is None else [value]
                unknown = set(refs) - ids[field.target]
                if unknown:
                    missing.setdefault((endpoint, field.name), set()).update(unknown)
    return missing


def test_every_generated_reference_resolves(generated: Dataset) -> None:
    assert _dangling(generated) == {}


def test_every_sample_reference_resolves_but_real_games_beyond_the_sample(
    samples: Dataset,
) -> None:
    # The 600 real games name games (similar_games, parent_game, ...) IGDB has and the
    # sample lacks; the games served are the real ones verbatim, so those stay.
    dangling = _dangling(samples)
    assert {endpoint for endpoint, _ in dangling} <= {"games"}
    real_ids = {game["id"] for game in load_samples()["games"]}
    for (_, field), _ids in dangling.items():
        assert ENTITIES["games"].kinds[ENTITIES["games"].fields.index(field)].target == "games"
    assert set(samples.table("games").snapshot.ids) == real_ids


def _owned_by(dataset: Dataset, parent: str, field: str, child: str, back: str) -> None:
    """Both directions: the parent lists exactly the children naming it."""
    listed: dict[int, int] = {}
    for record in dataset.table(parent).records():
        value = record.get(field)
        for child_id in value if isinstance(value, list) else [] if value is None else [value]:
            listed[child_id] = record["id"]
    naming = {r["id"]: r[back] for r in dataset.table(child).records() if back in r}
    assert listed, (parent, field)
    assert listed == naming, (parent, field, child, back)


@pytest.mark.parametrize(
    ("parent", "field", "child", "back"),
    [
        ("games", "artworks", "artworks", "game"),
        ("games", "alternative_names", "alternative_names", "game"),
        ("games", "screenshots", "screenshots", "game"),
        ("games", "videos", "game_videos", "game"),
        ("games", "language_supports", "language_supports", "game"),
        ("games", "game_localizations", "game_localizations", "game"),
        ("game_localizations", "cover", "covers", "game_localization"),
        ("events", "event_logo", "event_logos", "event"),
        ("events", "event_networks", "event_networks", "event"),
        ("network_types", "event_networks", "event_networks", "network_type"),
        (
            "platform_versions",
            "platform_version_release_dates",
            "platform_version_release_dates",
            "platform_version",
        ),
        ("game_version_features", "values", "game_version_feature_values", "game_feature"),
        ("collections", "as_parent_relations", "collection_relations", "parent_collection"),
        ("collections", "as_child_relations", "collection_relations", "child_collection"),
    ],
)
def test_parents_and_children_agree(
    generated: Dataset, parent: str, field: str, child: str, back: str
) -> None:
    _owned_by(generated, parent, field, child, back)


def test_lookup_values_are_igdbs(generated: Dataset) -> None:
    def by_id(endpoint: str, key: str) -> dict[int, Any]:
        return {record["id"]: record[key] for record in generated.table(endpoint).records()}

    sources = by_id("external_game_sources", "name")
    assert (sources[1], sources[5], sources[26], sources[36]) == (
        "Steam",
        "GOG",
        "Epic Game Store",
        "PlayStation Store US",
    )
    organizations = by_id("age_rating_organizations", "name")
    assert list(organizations.values()) == [
        "ESRB",
        "PEGI",
        "CERO",
        "USK",
        "GRAC",
        "CLASS_IND",
        "ACB",
    ]
    assert by_id("date_formats", "format")[0] == "YYYYMMMMDD"
    assert by_id("date_formats", "format")[7] == "TBD"
    assert by_id("release_date_regions", "region")[8] == "worldwide"
    assert list(by_id("language_support_types", "name").values()) == [
        "Audio",
        "Subtitles",
        "Interface",
    ]
    categories = by_id("age_rating_categories", "organization")
    for rating in generated.table("age_ratings").records():
        assert categories[rating["rating_category"]] == rating["organization"]


def test_deprecated_enums_follow_their_replacement(generated: Dataset) -> None:
    for character in generated.table("characters").records():
        assert character["gender"] == character["character_gender"] - 1
        assert character["species"] == character["character_species"]
    for website in generated.table("company_websites").records():
        assert website["category"] == website["type"]
    for release in generated.table("platform_version_release_dates").records():
        assert release["region"] == release["release_region"]


def test_image_records_have_image_urls(generated: Dataset) -> None:
    for endpoint in ("artworks", "screenshots", "character_mug_shots", "company_logos"):
        for record in generated.table(endpoint).records():
            url = f"//images.igdb.com/igdb/image/upload/t_thumb/{record['image_id']}.jpg"
            assert record["url"] == url


def test_every_table_is_deterministic_in_the_seed() -> None:
    first, second = Dataset.generate(games=300, seed=4), Dataset.generate(games=300, seed=4)
    other = Dataset.generate(games=300, seed=5)
    for endpoint in ENTITIES:
        assert first.table(endpoint).snapshot.blobs == second.table(endpoint).snapshot.blobs
    assert first.table("artworks").snapshot.blobs != other.table("artworks").snapshot.blobs


def test_parallel_build_gives_the_lazy_tables_and_counters() -> None:
    lazy, parallel = Dataset.generate(games=2_500, seed=4), Dataset.generate(games=2_500, seed=4)
    parallel.build(workers=2)  # games streamed to a helper in chunks, then a process pool
    for endpoint in reversed(lazy.endpoints):  # lazily, in another order
        assert lazy.table(endpoint).snapshot.blobs == parallel.table(endpoint).snapshot.blobs
        assert lazy.table(endpoint).snapshot.ids == parallel.table(endpoint).snapshot.ids
    assert lazy.synth.counters == parallel.synth.counters


def _per_game(dataset: Dataset, endpoint: str) -> float:
    return len(dataset.table(endpoint)) / len(dataset.table("games"))


def test_children_per_game_follow_the_unbiased_sample(generated: Dataset) -> None:
    # gameboy-seeds (100 random games): external_games 2.94 per game, screenshots 5.83,
    # language_supports 5.30, websites 3.11; the top-rated rag-sample has 17.9 external_games.
    assert 2.3 < _per_game(generated, "external_games") < 3.6
    assert 4.8 < _per_game(generated, "screenshots") < 6.9
    assert 4.3 < _per_game(generated, "language_supports") < 6.3
    assert 2.5 < _per_game(generated, "websites") < 3.8


def test_heavy_ratios_are_the_top_rated_sample() -> None:
    heavy = Dataset.generate(games=500, seed=3, ratios="heavy")
    assert "heavy" in heavy.description
    assert 14 < _per_game(heavy, "external_games") < 22  # rag-sample: 17.9
    assert 6 < _per_game(heavy, "release_dates") < 10  # rag-sample: 8.1
    assert 0.5 < _per_game(heavy, "alternative_names") < 1.0  # not in rag: gameboy's 0.72
    assert _dangling(heavy) == {}


@pytest.mark.parametrize("endpoint", ["characters", "language_supports", "game_time_to_beats"])
def test_a_day_changes_a_new_incremental_endpoint(endpoint: str) -> None:
    dataset = Dataset.generate(games=400, seed=2)
    before = {record["id"]: record for record in dataset.table(endpoint).records()}
    start = dataset.now
    change = advance_day(dataset, endpoint, changed=5, added=3, deleted=1, seed=1)
    after = {record["id"]: record for record in dataset.table(endpoint).records()}
    assert len(after) == len(before) + 3 - 1
    for record_id in (*change.changed, *change.added):
        assert start <= after[record_id]["updated_at"] < start + 86_400
    for record_id in change.changed:
        assert after[record_id]["checksum"] != before[record_id]["checksum"]
    # only the deleted record may still be named (its parent is not edited, see README)
    assert set().union(*_dangling(dataset).values()) <= set(change.deleted)


def test_added_games_bring_their_children() -> None:
    dataset = Dataset.generate(games=400, seed=2)
    children = ("artworks", "screenshots", "game_localizations", "covers", "language_supports")
    for endpoint in children:
        dataset.table(endpoint)
    change = advance_day(dataset, "games", changed=0, added=40, deleted=0, seed=3)
    added = [dataset.table("games").get(game_id) for game_id in change.added]
    screenshots = {shot for game in added if game for shot in game.get("screenshots", ())}
    assert screenshots <= set(dataset.table("screenshots").snapshot.ids)
    assert screenshots
    assert _dangling(dataset) == {}
    _owned_by(dataset, "game_localizations", "cover", "covers", "game_localization")


def test_tables_are_built_only_when_used() -> None:
    dataset = Dataset.generate(games=200, seed=1)
    dataset.table("genres")
    dataset.table("age_rating_categories")
    assert not dataset.built("games")
    dataset.table("artworks")
    assert dataset.built("games")
    assert not dataset.built("screenshots")
    assert not dataset.built("covers")
    dataset.table("company_logos")
    assert not dataset.built("platforms")
    assert not dataset.built("artwork_types")
