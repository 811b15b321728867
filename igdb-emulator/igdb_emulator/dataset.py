"""The records an emulator serves: the real samples, or a seeded synthetic IGDB.

Tables are built on first use, so a games-only benchmark never pays for websites.
Lookup tables (platforms, genres, themes, game_modes, player_perspectives) are always the
real, complete ones; enum tables are the real rows plus the documented values they lack.
"""

from __future__ import annotations

import multiprocessing
import threading
from array import array
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.connection import Connection
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
from igdb_emulator.ownership import MIRRORS, OWNERS, ROOTS, owned_fields
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
    completer,
    derive_named,
    derive_popularity,
    enum_records,
)
from igdb_emulator.synth_children import Filler
from igdb_emulator.table import Snapshot, Table, row_encoder

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
        self._decoded_games: list[Record] | None = None  # only while build() runs
        self._fixed_pools: dict[str, list[int]] = {}
        self._game_count: int | None = None  # generated: games made on first use

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

        def build_games() -> Table:  # the same rows as Dataset._stream_games makes
            rows = ((game["id"], game["updated_at"], encode(game)) for game in synth.games(games))
            return Table.from_rows(ENTITIES["games"], rows)

        heavy = " ratios=heavy" if ratios == "heavy" else ""
        dataset = cls(
            f"generated games={games} seed={seed}{heavy}",
            samples=samples,
            games=build_games,
            synth=synth,
            seed=seed,
            popularity_share=0.3,
            known_children=False,
        )
        dataset._game_count = games
        return dataset

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

    def build(self, endpoints: Iterable[str] | None = None, *, workers: int = 1) -> None:
        """Build `endpoints` (default: all) now, in `workers` processes when more than one.

        The tables are the same bytes however they are built: each is a pure function of
        the seed and the tables it derives from. With workers, the children each game owns
        alone (artworks, screenshots, ...) are made in forked processes while the games are
        still being generated, a chunk of games at a time; the other tables are then built
        in worker processes, in groups that share their dependencies (and the id counters
        those hand out), and installed here.
        """
        chosen = self.endpoints if endpoints is None else tuple(endpoints)
        missing = [endpoint for endpoint in chosen if endpoint not in self._tables]
        if not missing:
            return
        with self._lock:
            for endpoint in _PREBUILT:  # small, games-independent, used as pools by all
                self.table(endpoint)
            if workers > 1 and _GAMES_DERIVED & set(missing):
                self._build_parallel(missing, workers)
            if all(endpoint in self._tables for endpoint in missing):
                return
            self._decoded_games = list(self.table("games").records())
            try:
                for endpoint in missing:
                    self.table(endpoint)
            finally:
                self._decoded_games = None

    def _build_parallel(self, missing: list[str], workers: int) -> None:
        jobs: list[Job] = []
        streamed = tuple(
            endpoint
            for endpoint in _STREAMED
            if endpoint in missing and not self._known_children and "games" not in self._tables
        )
        parts: list[WorkerResult] = []
        if streamed:
            made, games_done = self._stream_games(streamed, workers - 1, parts)
            jobs.append(("stream", streamed, games_done, len(made)))
        else:
            self.table("games")
            made = None
        wanted = set(missing) - set(streamed)
        jobs += [
            ("group", group, 0, 0)
            for group in _GROUPS
            if any(endpoint in wanted and endpoint not in self._tables for endpoint in group)
        ]
        global _WORKER_DATASET, _WORKER_GAMES  # noqa: PLW0603 - handed to the forked workers
        _WORKER_DATASET, _WORKER_GAMES = self, made
        try:
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                results = list(pool.map(_build_job, jobs))
        finally:
            _WORKER_DATASET = _WORKER_GAMES = None
        for endpoint in streamed:  # chunks in game order: their child ids ascend
            snapshot = _snapshot(
                [part[0][endpoint] for part in (*parts, results[0]) if endpoint in part[0]]
            )
            self._tables[endpoint] = Table(ENTITIES[endpoint], snapshot)
        for tables, counters in results:
            for endpoint, packed in tables.items():
                if endpoint not in streamed:
                    snapshot = _snapshot([packed])
                    self._tables.setdefault(endpoint, Table(ENTITIES[endpoint], snapshot))
            for name, value in counters.items():  # each counter moves in one group only
                self.synth.counters[name] = max(self.synth.counters.get(name, 0), value)

    def _stream_games(
        self, streamed: tuple[str, ...], helpers: int, parts: list[WorkerResult]
    ) -> tuple[list[Record], int]:
        """Make the games table (as `generate`'s builder does), forking helpers that derive
        `streamed` from the games made so far; returns (the games, how many were derived)."""
        count = self._game_count
        assert count is not None
        chunk = max(2_000, count // 24)
        made: list[Record] = []
        rows: list[tuple[int, int, bytes]] = []
        running: list[tuple[multiprocessing.process.BaseProcess, Connection]] = []
        done = 0
        context = multiprocessing.get_context("fork")

        def collect(block: bool) -> None:
            while running and (block or running[0][1].poll()):
                process, connection = running.pop(0)
                parts.append(connection.recv())
                connection.close()
                process.join()

        global _WORKER_DATASET, _WORKER_GAMES  # noqa: PLW0603 - handed to the forked helpers
        _WORKER_DATASET, _WORKER_GAMES = self, made
        try:
            for game in self.synth.games(count):
                made.append(game)
                rows.append((game["id"], game["updated_at"], encode(game)))
                if len(made) - done >= chunk and len(made) < count:
                    collect(block=False)
                    if len(running) < helpers:
                        receiver, sender = context.Pipe(duplex=False)
                        job: Job = ("stream", streamed, done, len(made))
                        process = context.Process(target=_send_job, args=(job, sender))
                        process.start()
                        sender.close()
                        running.append((process, receiver))
                        done = len(made)
            collect(block=True)
        finally:
            _WORKER_DATASET = _WORKER_GAMES = None
        self._tables["games"] = Table.from_rows(ENTITIES["games"], rows)
        return made, done

    def _rows_of(self, endpoint: str) -> Iterable[Record]:
        if endpoint == "games" and self._decoded_games is not None:
            return self._decoded_games
        return self.table(endpoint).records()

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
            parents = [(owner, self._rows_of(owner.parent)) for owner in OWNERS[endpoint]]
            return derive_owned(
                endpoint, parents, known=self._known(endpoint), filler=filler, seed=seed
            )
        if endpoint in ROOTS:
            root = ROOTS[endpoint]
            anchors = self._rows_of(root.anchor)
            return derive_roots(endpoint, root, anchors, filler=filler, seed=seed)
        if endpoint == "collection_memberships":
            return derive_memberships(self._rows_of("games"), filler=filler, seed=seed)
        if endpoint == "popularity_primitives":
            games = self._rows_of("games")
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
            for game in self._rows_of("games"):
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
            pool = self._fixed_pools.get(endpoint)
            if pool is None:
                rows = (*_FIXED[endpoint], *self._samples.get(endpoint, []))
                pool = self._fixed_pools[endpoint] = sorted({row["id"] for row in rows})
            return pool
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


_WORKER_DATASET: Dataset | None = None
_WORKER_GAMES: list[Record] | None = None  # the generated games, while they are streamed
Packed = tuple[bytes, bytes, list[bytes]]  # ids, updated_at (array bytes), blobs
WorkerResult = tuple[dict[str, Packed], dict[str, int]]
Job = tuple[str, tuple[str, ...], int, int]  # kind, endpoints, first and end game index


def _build_job(job: Job) -> WorkerResult:
    """In a forked worker: build a job's tables and send them back (packed).

    ("group", endpoints, ...): the tables (and what they need) from all the games;
    ("stream", endpoints, start, stop): the children of games[start:stop] only.
    """
    dataset = _WORKER_DATASET
    assert dataset is not None
    kind, endpoints, start, stop = job
    tables: dict[str, Packed] = {}
    if kind == "stream":
        assert _WORKER_GAMES is not None
        games = _WORKER_GAMES[start:stop]
        filler = dataset._filler()
        for endpoint in endpoints:
            made = derive_owned(
                endpoint, [(OWNERS[endpoint][0], games)], known={}, filler=filler, seed=dataset.seed
            )
            encoder = row_encoder(ENTITIES[endpoint])
            rows = map(encoder.checked_row, map(completer(endpoint, EMULATOR_EPOCH), made))
            ids, updated = array("q"), array("q")
            blobs: list[bytes] = []
            for record_id, updated_at, blob in rows:
                ids.append(record_id)
                updated.append(updated_at)
                blobs.append(blob)
            tables[endpoint] = (ids.tobytes(), updated.tobytes(), blobs)
        return tables, {}
    if dataset._decoded_games is None:  # kept for the worker's next groups
        dataset._decoded_games = _WORKER_GAMES or list(dataset.table("games").records())
    for endpoint in endpoints:
        snapshot = dataset.table(endpoint).snapshot
        tables[endpoint] = (snapshot.ids.tobytes(), snapshot.updated.tobytes(), snapshot.blobs)
    return tables, dict(dataset.synth.counters)


def _send_job(job: Job, connection: Connection) -> None:
    connection.send(_build_job(job))
    connection.close()


def _snapshot(parts: list[Packed]) -> Snapshot:
    """One snapshot from packed parts, in order (each sorted by id, ids ascending across)."""
    ids, updated = array("q"), array("q")
    blobs: list[bytes] = []
    for part_ids, part_updated, part_blobs in parts:
        ids.frombytes(part_ids)
        updated.frombytes(part_updated)
        blobs += part_blobs
    if any(ids[i] >= ids[i + 1] for i in range(len(ids) - 1)):
        raise ValueError("parts must have unique ids in ascending order")
    return Snapshot(ids, updated, blobs)


def _dependencies(endpoint: str) -> set[str]:
    """The tables `endpoint` is derived from."""
    if endpoint in OWNERS:
        return {owner.parent for owner in OWNERS[endpoint]}
    if endpoint in ROOTS:
        return {ROOTS[endpoint].anchor}
    if endpoint == "companies":
        return {"involved_companies"}
    if endpoint in (*_NAMED, "collection_memberships", "popularity_primitives"):
        return {"games"}
    return {source for (name, _), (source, _) in MIRRORS.items() if name == endpoint}


def _groups() -> tuple[set[str], list[tuple[str, ...]]]:
    """(the tables that need games, directly or not; those tables in groups closed under
    dependency, largest first), so that no two workers hand out ids of one counter."""
    derived: set[str] = {"games"}
    changed = True
    while changed:
        changed = False
        for endpoint in ENTITIES:
            if endpoint not in derived and _dependencies(endpoint) & derived:
                derived.add(endpoint)
                changed = True
    derived.discard("games")
    group_of = {endpoint: {endpoint} for endpoint in derived}
    for endpoint in derived:
        for dependency in _dependencies(endpoint) & derived:
            merged = group_of[endpoint] | group_of[dependency]
            for member in merged:
                group_of[member] = merged
    order = list(ENTITIES)
    groups = {tuple(sorted(group, key=order.index)) for group in group_of.values()}
    heavy = ("language_supports", "screenshots", "involved_companies", "external_games")
    return derived, sorted(groups, key=lambda g: (not set(g) & set(heavy), -len(g), g))


_GAMES_DERIVED, _GROUPS = _groups()
# Children of games only, owning nothing, needed by no other table: each game's are
# derived from it alone (see Dataset._stream_games).
_STREAMED = tuple(
    endpoint
    for endpoint, owners in OWNERS.items()
    if len(owners) == 1
    and owners[0].parent == "games"
    and not owned_fields(endpoint)
    and not any(endpoint in _dependencies(other) for other in ENTITIES)
)
_PREBUILT = tuple(e for e in ENTITIES if e not in _GAMES_DERIVED and e != "games")


def _table(endpoint: str, records: Iterable[Record]) -> Table:
    completed = map(completer(endpoint, EMULATOR_EPOCH), records)
    return Table.from_records(ENTITIES[endpoint], completed, add_checksums=True)


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
