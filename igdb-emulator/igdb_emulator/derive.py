"""Tables derived from other tables, following the declarations of ownership.py.

Each function is pure in (seed, its inputs): a child table is one record per id its
parents list, a root table a share of its anchors, a mirror the other direction of a
reference. Ids for grandchildren come from the synth's counters as records are made.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from igdb_emulator.entities import ENTITIES
from igdb_emulator.ownership import Owner, Root
from igdb_emulator.records import Record
from igdb_emulator.synth import CHILD_MAKERS, child_rng
from igdb_emulator.synth_children import Filler

RELATED_COLLECTIONS_SHARE = 0.15  # collections with a sub-series or a parent series


def derive_owned(
    endpoint: str,
    parents: Sequence[tuple[Owner, Iterable[Record]]],
    *,
    known: dict[int, Record],
    filler: Filler,
    seed: int,
) -> list[Record]:
    """One record per id the parents list: known ones as they are, the others made."""
    records = {record_id: dict(record) for record_id, record in known.items()}
    made: set[int] = set()
    for owner, owner_records in parents:
        maker = CHILD_MAKERS.get(endpoint) if owner.parent == "games" else None
        stream = endpoint if owner.parent == "games" else f"{endpoint}:{owner.field}"
        for parent in owner_records:
            value = parent.get(owner.field)
            if value is None:
                continue
            child_ids = value if isinstance(value, list) else [value]
            rng = child_rng(seed, stream, parent["id"])
            for child_id in child_ids:
                if child_id in records:  # known, or listed by a second owner
                    if owner.back and child_id in made:
                        records[child_id][owner.back] = parent["id"]
                    continue
                made.add(child_id)
                if maker is not None:
                    records[child_id] = maker(
                        rng, child_id, parent, filler.synth.profile, filler.now
                    )
                    continue
                record: Record = {"id": child_id}
                if owner.back:
                    record[owner.back] = parent["id"]
                records[child_id] = filler.fill(endpoint, record, rng, parent)
    return [records[record_id] for record_id in sorted(records)]


def derive_roots(
    endpoint: str, root: Root, anchors: Iterable[Record], *, filler: Filler, seed: int
) -> list[Record]:
    """Records nobody lists: a share of the anchors get one each (at least one in all)."""
    chosen: list[Record] = []
    first: Record | None = None
    for anchor in anchors:
        first = first or anchor
        if child_rng(seed, endpoint, anchor["id"]).random() < root.share:
            chosen.append(anchor)
    if not chosen and first is not None:
        chosen = [first]
    back_is_list = next(f for f in ENTITIES[endpoint].kinds if f.name == root.back).kind == "refs"
    records: list[Record] = []
    for record_id, anchor in enumerate(chosen, start=1):
        rng = child_rng(seed, f"{endpoint}:record", anchor["id"])
        record: Record = {"id": record_id}
        if not back_is_list:  # a list (characters.games) starts with the anchor, by rule
            record[root.back] = anchor["id"]
        records.append(filler.fill(endpoint, record, rng, anchor))
    return records


def derive_memberships(games: Iterable[Record], *, filler: Filler, seed: int) -> list[Record]:
    """collection_memberships: one per (game, collection) that games.collections names."""
    records: list[Record] = []
    for game in games:
        collections = game.get("collections")
        if not collections:
            continue
        rng = child_rng(seed, "collection_memberships", game["id"])
        for collection in collections:
            record: Record = {"id": len(records) + 1, "game": game["id"], "collection": collection}
            records.append(filler.fill("collection_memberships", record, rng, game))
    return records


def relate_collections(collections: list[Record], *, filler: Filler, seed: int) -> None:
    """Give a share of collections sub-series (at least one pair): relation ids on both
    ends, in place."""
    if len(collections) < 2:
        return
    by_id = {record["id"]: record for record in collections}
    ids = list(by_id)
    pairs: list[tuple[Record, Record]] = []
    for parent in collections:
        rng = child_rng(seed, "collection_relations", parent["id"])
        if rng.random() < RELATED_COLLECTIONS_SHARE:
            children = {rng.choice(ids) for _ in range(rng.choice((1, 1, 2)))} - {parent["id"]}
            pairs.extend((parent, by_id[child]) for child in sorted(children))
    for parent, child in pairs or [(collections[0], collections[1])]:
        relation_id = filler.synth.take_ids("collection_relations", 1)[0]
        parent.setdefault("as_parent_relations", []).append(relation_id)
        child.setdefault("as_child_relations", []).append(relation_id)


def mirror(records: Iterable[Record], field: str, sources: Iterable[Record], source: str) -> None:
    """Set `field` of each record to the ids of the `sources` whose `source` names it."""
    naming: dict[int, list[int]] = {}
    for record in sources:
        if source in record:
            naming.setdefault(record[source], []).append(record["id"])
    for record in records:
        if record["id"] in naming:
            record[field] = sorted(naming[record["id"]])


def credit_companies(companies: Iterable[Record], involvements: Iterable[Record]) -> None:
    """companies.developed / published: the games their involvements say, in place."""
    credits: dict[tuple[int, str], set[int]] = {}
    for involvement in involvements:
        for role, field in (("developer", "developed"), ("publisher", "published")):
            if involvement.get(role):
                credits.setdefault((involvement["company"], field), set()).add(involvement["game"])
    for company in companies:
        for field in ("developed", "published"):
            games = credits.get((company["id"], field))
            if games:
                company[field] = sorted(games)
