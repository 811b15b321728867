"""The records an emulator serves: the real samples, or a seeded synthetic IGDB.

Tables are built on first use, so a games-only benchmark never pays for websites.
Lookup tables (platforms, genres, themes, game_modes, player_perspectives) are always the
real, complete ones; enum tables are the real rows plus the documented values they lack.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from igdb_emulator.entities import ENTITIES
from igdb_emulator.profile import Profile, learn
from igdb_emulator.records import Record, encode
from igdb_emulator.samples import load_samples
from igdb_emulator.synth import (
    CHILD_MAKERS,
    EMULATOR_EPOCH,
    GAME_STATUS_NAMES,
    GAME_TYPE_NAMES,
    GameSynth,
    complete,
    derive_children,
    derive_named,
    derive_popularity,
    enum_records,
)
from igdb_emulator.table import Table

_LOOKUPS = ("platforms", "genres", "themes", "game_modes", "player_perspectives")
_ENUMS = {
    "game_types": (GAME_TYPE_NAMES, "type"),
    "game_statuses": (GAME_STATUS_NAMES, "status"),
    "platform_types": ({}, "name"),
    "popularity_types": ({}, "name"),
}


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

    @classmethod
    def samples(cls, directory: Path | None = None) -> Dataset:
        """The real sample responses, merged, completed and with dangling references filled."""
        samples = load_samples(directory)
        profile = learn(samples)
        synth = GameSynth(profile, seed=0)
        synth.slugs.update(game["slug"] for game in samples["games"])
        _continue_counters(synth, samples["games"])
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
    def generate(cls, games: int, seed: int = 0, directory: Path | None = None) -> Dataset:
        """`games` synthetic games (and everything they reference), deterministic in `seed`."""
        if games < 1:
            raise ValueError(f"games must be at least 1, got {games}")
        samples = load_samples(directory)
        synth = GameSynth(learn(samples), seed=seed)

        def build_games() -> Table:
            rows = ((game["id"], game["updated_at"], encode(game)) for game in synth.games(games))
            return Table.from_rows(ENTITIES["games"], rows)

        return cls(
            f"generated games={games} seed={seed}",
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

    def _build(self, endpoint: str) -> Table:
        samples, now, seed = self._samples, self.now, self.seed
        if endpoint == "games":
            return self._games()
        if endpoint in _LOOKUPS:
            return _table(endpoint, samples.get(endpoint, []))
        if endpoint in _ENUMS:
            names, key = _ENUMS[endpoint]
            return _table(endpoint, enum_records(endpoint, names, key, samples.get(endpoint, [])))
        games = self.table("games").records
        if endpoint in CHILD_MAKERS:
            known = self._known(endpoint)
            made = derive_children(
                endpoint, games(), known=known, profile=self.profile, seed=seed, now=now
            )
            return _table(endpoint, made)
        if endpoint == "popularity_primitives":
            return _table(endpoint, derive_popularity(games(), self._popularity_share, seed, now))
        return self._build_named(endpoint)

    def _build_named(self, endpoint: str) -> Table:
        """keywords, companies, franchises, collections: one record per referenced id."""
        referenced: dict[int, list[int]] = {}
        if endpoint == "companies":
            for involvement in self.table("involved_companies").records():
                referenced.setdefault(involvement["company"], [])
            for company in self._known("companies").values():
                if "parent" in company:
                    referenced.setdefault(company["parent"], [])
        else:
            for game in self.table("games").records():
                for ref in game.get(endpoint, ()):
                    referenced.setdefault(ref, []).append(game["id"])
        known = self._known(endpoint)
        if not self._known_children:
            known = {key: value for key, value in known.items() if key in referenced}
        words = self.profile.title_words
        named = derive_named(
            endpoint, referenced, known=known, seed=self.seed, now=self.now, words=words
        )
        return _table(endpoint, named)

    def _known(self, endpoint: str) -> dict[int, Record]:
        if not self._known_children and endpoint not in ("companies", "keywords"):
            return {}
        return {record["id"]: record for record in self._samples.get(endpoint, [])}

    def add_children(self, games: Iterable[Record]) -> None:
        """Make the children of newly added games in child tables that are already built."""
        new_games = list(games)
        for endpoint in CHILD_MAKERS:
            table = self._tables.get(endpoint)
            if table is None:
                continue
            made = derive_children(
                endpoint, new_games, known={}, profile=self.profile, seed=self.seed, now=self.now
            )
            table.apply(upserts=[complete(endpoint, record, self.now) for record in made])


def _table(endpoint: str, records: Iterable[Record]) -> Table:
    return Table.from_records(
        ENTITIES[endpoint], (complete(endpoint, record, EMULATOR_EPOCH) for record in records)
    )


def _continue_counters(synth: GameSynth, games: list[Record]) -> None:
    """New games of a sample dataset get child ids above every id the samples use."""
    for name in synth.counters:
        values = [0]
        for game in games:
            value = game.get(name)
            values.extend(value if isinstance(value, list) else [value] if value else [])
        synth.counters[name] = max(values)
