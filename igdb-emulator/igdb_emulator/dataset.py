"""The records an emulator serves: the real samples, or a seeded synthetic IGDB.

Tables are built on first use, so a games-only benchmark never pays for websites.
Lookup tables (platforms, genres, themes, game_modes, player_perspectives) are always the
real, complete ones; enum tables are the real rows plus the documented values they lack.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from igdb_emulator.derive import (
    credit_companies,
    derive_memberships,
    derive_owned,
    derive_roots,
    mirror,
    relate_collections,
)
from igdb_emulator.entities import ENTITIES
from igdb_emulator.lookups import lookup_rows
from igdb_emulator.ownership import MIRRORS, OWNERS, ROOTS
from igdb_emulator.profile import Profile, Ratios, learn
from igdb_emulator.records import Record, encode
from igdb_emulator.samples import load_samples
from igdb_emulator.synth import (
    EMULATOR_EPOCH,
    GAME_STATUS_NAMES,
    GAME_TYPE_NAMES,
    GameSynth,
    child_rng,
    complete,
    derive_named,
    derive_popularity,
    enum_records,
)
from igdb_emulator.synth_children import Filler
from igdb_emulator.table import Table

_LOOKUPS = ("platforms", "genres", "themes", "game_modes", "player_perspectives")
_ENUMS = {
    "game_types": (GAME_TYPE_NAMES, "type"),
    "game_statuses": (GAME_STATUS_NAMES, "status"),
    "platform_types": ({}, "name"),
    "popularity_types": ({}, "name"),
}
_FIXED = lookup_rows()
# Shared records many others point at: one per referenced id (see _build_named).
_NAMED = ("keywords", "franchises", "collections", "game_engines", "companies")


class Dataset:
    """Lazily built tables for every served endpoint; see `samples()` and `generate()`."""

    def __init__(
        self,
        description: str,
        *,
        samples: dict[str, list[Record]],
        games: Callable[[], Table],
        synth: GameSynth,
        seed: int,
        popularity_share: float,
        known_children: bool,
    ) -> None:
        self.description = description
        self.seed = seed
        self.now = EMULATOR_EPOCH
        self.synth = synth
        self._samples = samples
        self._games = games
        self._popularity_share = popularity_share
        self._known_children = known_children
        self._tables: dict[str, Table] = {}
        self._lock = threading.RLock()
        self._real_companies = [record["id"] for record in samples.get("companies", [])]

    @classmethod
    def samples(cls, directory: Path | None = None) -> Dataset:
        """The real sample responses, merged, completed and with dangling references filled."""
        samples = load_samples(directory)
        profile = learn(samples)
        synth = GameSynth(profile, seed=0)
        synth.slugs.update(game["slug"] for game in samples["games"])
        _continue_counters(synth, samples)
        return cls(
            "samples",
            samples=samples,
            games=lambda: _table("games", samples["games"]),
            synth=synth,
            seed=0,
            popularity_share=1.0,
            known_children=True,
        )

    @classmethod
    def generate(
        cls,
        games: int,
        seed: int = 0,
        directory: Path | None = None,
        *,
        ratios: Ratios = "gameboy",
    ) -> Dataset:
        """`games` synthetic games (and everything they reference), deterministic in `seed`.

        `ratios`: children per game as in the unbiased gameboy-seeds sample, or "heavy" (the
        rag-sample's 500 top-rated games: ~6x the external_games, ...) as a stress case.
        """
        if games < 1:
            raise ValueError(f"games must be at least 1, got {games}")
        samples = load_samples(directory)
        synth = GameSynth(learn(samples, ratios=ratios), seed=seed)
        _continue_counters(synth, {name: samples.get(name, []) for name in _LOOKUPS})

        def build_games() -> Table:
            rows = ((game["id"], game["updated_at"], encode(game)) for game in synth.games(games))
            return Table.from_rows(ENTITIES["games"], rows)

        heavy = " ratios=heavy" if ratios == "heavy" else ""
        return cls(
            f"generated games={games} seed={seed}{heavy}",
            samples=samples,
            games=build_games,
            synth=synth,
            seed=seed,
            popularity_share=0.3,
            known_children=False,
        )

    @property
    def profile(self) -> Profile:
        return self.synth.profile

    @property
    def endpoints(self) -> tuple[str, ...]:
        return tuple(ENTITIES)

    def built(self, endpoint: str) -> bool:
        return endpoint in self._tables

    def table(self, endpoint: str) -> Table:
        """The endpoint's table, built on first use; KeyError for an unknown endpoint."""
        table = self._tables.get(endpoint)
        if table is not None:
            return table
        if endpoint not in ENTITIES:
            raise KeyError(endpoint)
        with self._lock:
            if endpoint not in self._tables:
                self._tables[endpoint] = self._build(endpoint)
            return self._tables[endpoint]

    def _filler(self) -> Filler:
        return Filler(self.synth, self._pool, self.now)

    def _build(self, endpoint: str) -> Table:
        if endpoint == "games":
            return self._games()
        return _table(endpoint, self._records(endpoint))

    def _records(self, endpoint: str) -> list[Record]:  # noqa: PLR0911 - one per kind of table
        samples, filler, seed = self._samples, self._filler(), self.seed
        if endpoint in _LOOKUPS:
            return samples.get(endpoint, [])
        if endpoint in _ENUMS:
            names, key = _ENUMS[endpoint]
            return enum_records(endpoint, names, key, samples.get(endpoint, []))
        if endpoint in _FIXED:
            return self._fixed(endpoint)
        if endpoint in OWNERS:
            parents = [(owner, self.table(owner.parent).records()) for owner in OWNERS[endpoint]]
            return derive_owned(
                endpoint, parents, known=self._known(endpoint), filler=filler, seed=seed
            )
        if endpoint in ROOTS:
            root = ROOTS[endpoint]
            anchors = self.table(root.anchor).records()
            return derive_roots(endpoint, root, anchors, filler=filler, seed=seed)
        if endpoint == "collection_memberships":
            return derive_memberships(self.table("games").records(), filler=filler, seed=seed)
        if endpoint == "popularity_primitives":
            games = self.table("games").records()
            return derive_popularity(games, self._popularity_share, seed, self.now)
        if endpoint in _NAMED:
            return self._named(endpoint)
        raise AssertionError(f"no builder declared for {endpoint}")  # a catalogue addition

    def _fixed(self, endpoint: str) -> list[Record]:
        """A fixed lookup table, real sample rows winning, with its mirrored lists."""
        rows = {row["id"]: dict(row) for row in _FIXED[endpoint]}
        rows.update({row["id"]: dict(row) for row in self._samples.get(endpoint, [])})
        records = [rows[record_id] for record_id in sorted(rows)]
        for (mirrored, field), (source, source_field) in MIRRORS.items():
            if mirrored == endpoint:
                mirror(records, field, self.table(source).records(), source_field)
        return records

    def _named(self, endpoint: str) -> list[Record]:
        """keywords, franchises, collections, game_engines, companies: one per referenced id."""
        referenced: dict[int, list[int]] = {}
        known = self._known(endpoint)
        if endpoint == "companies":
            involvements = list(self.table("involved_companies").records())
            for involvement in involvements:
                referenced.setdefault(involvement["company"], [])
            for company in known.values():
                referenced.setdefault(company["id"], [])  # the pool others pick from
                if "parent" in company:
                    referenced.setdefault(company["parent"], [])
        else:
            for game in self.table("games").records():
                for ref in game.get(endpoint, ()):
                    referenced.setdefault(ref, []).append(game["id"])
            if not self._known_children:
                known = {key: value for key, value in known.items() if key in referenced}
        words = self.profile.title_words
        named = derive_named(
            endpoint, referenced, known=known, seed=self.seed, now=self.now, words=words
        )
        filler = self._filler()
        for record in named:
            if record["id"] not in known:  # real records stay as they are
                rng = child_rng(self.seed, f"{endpoint}:fill", record["id"])
                filler.fill(endpoint, record, rng, {})
        if endpoint == "companies":
            credit_companies(named, involvements)
        if endpoint == "collections":
            relate_collections(named, filler=filler, seed=self.seed)
        return named

    def _pool(self, endpoint: str) -> Sequence[int] | None:
        """The ids a generated reference to `endpoint` may use; None: it may not pick one.

        Lookup ids come from the rows themselves, never from a built table, so that a
        lookup that mirrors another table (network_types) can be built after it.
        """
        if endpoint in _FIXED:
            rows = (*_FIXED[endpoint], *self._samples.get(endpoint, []))
            return sorted({row["id"] for row in rows})
        if endpoint == "companies":
            return self._real_companies
        if endpoint in (*_LOOKUPS, *_ENUMS, "games"):
            return self.table(endpoint).snapshot.ids
        return None

    def _known(self, endpoint: str) -> dict[int, Record]:
        if not self._known_children and endpoint not in ("companies", "keywords"):
            return {}
        return {record["id"]: record for record in self._samples.get(endpoint, [])}

    def add_children(self, games: Iterable[Record]) -> None:
        """Make the children of newly added games (and theirs) in tables already built."""
        new: dict[str, list[Record]] = {"games": list(games)}
        filler = self._filler()
        for endpoint, owners in OWNERS.items():
            table = self._tables.get(endpoint)
            parents = [(owner, new[owner.parent]) for owner in owners if owner.parent in new]
            if table is None or not parents:
                continue
            made = derive_owned(endpoint, parents, known={}, filler=filler, seed=self.seed)
            new[endpoint] = [complete(endpoint, record, self.now) for record in made]
            table.apply(upserts=new[endpoint])


def _table(endpoint: str, records: Iterable[Record]) -> Table:
    return Table.from_records(
        ENTITIES[endpoint], (complete(endpoint, record, EMULATOR_EPOCH) for record in records)
    )


def _continue_counters(synth: GameSynth, samples: dict[str, list[Record]]) -> None:
    """New child ids go above every id the samples use or point at, per endpoint."""
    highest: dict[str, int] = {}
    for endpoint, records in samples.items():
        references = ENTITIES[endpoint].references
        for record in records:
            highest[endpoint] = max(highest.get(endpoint, 0), record["id"])
            for field in references:
                value = record.get(field.name)
                values = value if isinstance(value, list) else [value] if value else []
                if values and field.target:
                    highest[field.target] = max(highest.get(field.target, 0), *values)
    for endpoint, value in highest.items():
        synth.counters[endpoint] = max(synth.counters.get(endpoint, 0), value)
