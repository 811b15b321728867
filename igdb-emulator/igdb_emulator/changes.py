"""Life at IGDB: records change, new ones appear, some disappear.

In a day (`advance_day`), or within seconds while a reader pages (`change_during_read`).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from igdb_emulator.dataset import Dataset
from igdb_emulator.entities import ENTITIES, Entity
from igdb_emulator.ownership import derived_fields
from igdb_emulator.records import Record, checksum, in_key_order
from igdb_emulator.synth import DAY, complete


@dataclass(frozen=True)
class DayChange:
    """What `advance_day` (or `change_during_read`) did: ids per kind of change and the
    [start, end) window their timestamps fall in."""

    endpoint: str
    changed: tuple[int, ...]
    added: tuple[int, ...]
    deleted: tuple[int, ...]
    day_start: int
    day_end: int

    def as_json(self) -> dict[str, object]:
        return {
            "endpoint": self.endpoint,
            "changed": list(self.changed),
            "added": list(self.added),
            "deleted": list(self.deleted),
            "day_start": self.day_start,
            "day_end": self.day_end,
        }


def advance_day(
    dataset: Dataset, endpoint: str, *, changed: int, added: int, deleted: int, seed: int
) -> DayChange:
    """Move the dataset's clock one day forward and apply the day's changes to `endpoint`."""
    entity, ids = _target(dataset, endpoint, changed, added, deleted)
    rng = random.Random(f"advance_day:{seed}:{endpoint}:{dataset.now}")
    picked = rng.sample(ids, changed + deleted)
    return _apply(
        dataset,
        entity,
        changed_ids=sorted(picked[:changed]),
        added=added,
        deleted_ids=sorted(picked[changed:]),
        rng=rng,
        seconds=DAY,
    )


def one_day(
    dataset: Dataset, changes: Mapping[str, Mapping[str, int]], *, seed: int
) -> list[DayChange]:
    """One day at IGDB across several endpoints: `changes` maps an endpoint to its
    `changed`/`added`/`deleted` counts; every change is stamped within the same day, and
    the clock moves one day. Nothing is applied unless every change is possible."""
    for endpoint, counts in changes.items():
        unknown = set(counts) - {"changed", "added", "deleted"}
        if unknown:
            raise ValueError(f"{endpoint}: unknown change counts {sorted(unknown)}")
        _target(dataset, endpoint, *(counts.get(k, 0) for k in ("changed", "added", "deleted")))
    start = dataset.now
    done = []
    for endpoint, counts in changes.items():
        dataset.now = start  # each endpoint's changes fall in [start, start + DAY)
        done.append(
            advance_day(
                dataset,
                endpoint,
                changed=counts.get("changed", 0),
                added=counts.get("added", 0),
                deleted=counts.get("deleted", 0),
                seed=seed,
            )
        )
    dataset.now = start + DAY
    return done


def change_during_read(
    dataset: Dataset,
    endpoint: str,
    *,
    changed: int,
    added: int,
    seconds: int,
    seed: int,
    ids: Sequence[int] = (),
    served: Sequence[int] = (),
) -> DayChange:
    """Edits landing while a reader pages through `endpoint`, stamped within `seconds`.

    The changed records are `ids`, plus `changed // 2` of the records just `served` (the
    reader has them; the lowest ids when none were) and the rest from the highest ids not
    served (the reader has not reached them, whatever order it reads in).
    """
    check_change(dataset, endpoint, changed, ids)
    entity = ENTITIES[endpoint]
    all_ids = list(dataset.table(endpoint).snapshot.ids)
    passed = changed // 2
    were_served = set(served)
    behind = sorted(were_served.intersection(all_ids)) or all_ids
    ahead = [record_id for record_id in all_ids if record_id not in were_served]
    picked = {*ids, *behind[:passed], *ahead[len(ahead) - (changed - passed) :]}
    rng = random.Random(f"change_during_read:{seed}:{endpoint}:{dataset.now}")
    return _apply(
        dataset,
        entity,
        changed_ids=sorted(picked),
        added=added,
        deleted_ids=[],
        rng=rng,
        seconds=seconds,
    )


def check_change(dataset: Dataset, endpoint: str, changed: int, ids: Sequence[int]) -> None:
    """Raise ValueError for a `change_during_read` that could not be applied."""
    entity, all_ids = _target(dataset, endpoint, changed, 0, 0)
    if ids and not entity.has_updated_at:
        raise ValueError(f"{endpoint} records have no updated_at: only added/deleted apply")
    unknown = set(ids) - set(all_ids)
    if unknown:
        raise ValueError(f"records {sorted(unknown)} are not in {endpoint}")


def _target(
    dataset: Dataset, endpoint: str, changed: int, added: int, deleted: int
) -> tuple[Entity, list[int]]:
    """The entity and its record ids, once the change is known to be possible."""
    if endpoint not in ENTITIES:
        raise ValueError(f"unknown endpoint {endpoint!r}")
    entity = ENTITIES[endpoint]
    if changed and not entity.has_updated_at:
        raise ValueError(f"{endpoint} records have no updated_at: only added/deleted apply")
    if min(changed, added, deleted) < 0:
        raise ValueError("changed, added and deleted must be >= 0")
    ids = list(dataset.table(endpoint).snapshot.ids)
    if changed + deleted > len(ids):
        raise ValueError(
            f"{endpoint} holds {len(ids)} records: cannot change {changed} and delete {deleted}"
        )
    return entity, ids


def _apply(
    dataset: Dataset,
    entity: Entity,
    *,
    changed_ids: list[int],
    added: int,
    deleted_ids: list[int],
    rng: random.Random,
    seconds: int,
) -> DayChange:
    """Change, add and delete records of `entity`, stamped within [now, now + seconds)."""
    endpoint = entity.name
    table = dataset.table(endpoint)
    ids = list(table.snapshot.ids)
    start = dataset.now
    end = start + seconds

    upserts: list[Record] = []
    for record_id in changed_ids:
        record = table.get(record_id)
        assert record is not None
        upserts.append(_changed(entity, record, rng, start, end))

    next_id = ids[-1] if ids else 0
    new_records: list[Record] = []
    for _ in range(added):
        next_id += rng.randint(1, 3)
        created_at = rng.randint(start, end - 1)
        if endpoint == "games":
            record = dataset.synth.game(rng, next_id, created_at, ids or [next_id])
            record["updated_at"] = created_at
        else:
            template = dict(table.get(rng.choice(ids)) or {"id": next_id}) if ids else {}
            record = {
                key: value for key, value in template.items() if key not in derived_fields(endpoint)
            }
            record["id"] = next_id
            for key in ("created_at", "updated_at"):
                if key in entity.field_set:
                    record[key] = created_at
        record.pop("checksum", None)
        new_records.append(complete(endpoint, in_key_order(record, entity.fields), end))
    upserts.extend(new_records)

    dataset.now = end
    table.apply(upserts=upserts, deletes=deleted_ids)
    if endpoint == "games":
        dataset.add_children(new_records)
    return DayChange(
        endpoint,
        tuple(changed_ids),
        tuple(record["id"] for record in new_records),
        tuple(deleted_ids),
        start,
        end,
    )


def _changed(entity: Entity, record: Record, rng: random.Random, start: int, end: int) -> Record:
    """A realistic edit: community numbers move; the record gets a new updated_at and checksum."""
    edited = dict(record)
    if "rating" in edited:
        edited["rating"] = min(100.0, max(0.0, edited["rating"] + rng.uniform(-1.5, 1.5)))
        edited["rating_count"] = edited.get("rating_count", 0) + rng.randint(1, 25)
    if "total_rating_count" in edited or "total_rating" in edited:
        edited["total_rating_count"] = edited.get("total_rating_count", 0) + rng.randint(1, 25)
    if entity.name == "games" and ("hypes" in edited or rng.random() < 0.3):
        edited["hypes"] = edited.get("hypes", 0) + rng.randint(1, 5)
    updated_at = rng.randint(max(start, edited.get("created_at", start)), end - 1)
    edited["updated_at"] = updated_at
    edited.pop("checksum", None)
    ordered = in_key_order(edited, entity.fields)
    if "checksum" in entity.field_set:
        ordered["checksum"] = checksum(ordered)
        ordered = in_key_order(ordered, entity.fields)
    return ordered
