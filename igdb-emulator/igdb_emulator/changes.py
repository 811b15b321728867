"""One day of life at IGDB: records change, new ones appear, some disappear."""

from __future__ import annotations

import random
from dataclasses import dataclass

from igdb_emulator.dataset import Dataset
from igdb_emulator.entities import ENTITIES, Entity
from igdb_emulator.records import Record, checksum, in_key_order
from igdb_emulator.synth import DAY, complete


@dataclass(frozen=True)
class DayChange:
    """What `advance_day` did: ids per kind of change and the day's [start, end) window."""

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
    if endpoint not in ENTITIES:
        raise ValueError(f"unknown endpoint {endpoint!r}")
    entity = ENTITIES[endpoint]
    if changed and not entity.has_updated_at:
        raise ValueError(f"{endpoint} records have no updated_at: only added/deleted apply")
    if min(changed, added, deleted) < 0:
        raise ValueError("changed, added and deleted must be >= 0")
    table = dataset.table(endpoint)
    ids = list(table.snapshot.ids)
    if changed + deleted > len(ids):
        raise ValueError(
            f"{endpoint} holds {len(ids)} records: cannot change {changed} and delete {deleted}"
        )
    day_start = dataset.now
    day_end = day_start + DAY
    rng = random.Random(f"advance_day:{seed}:{endpoint}:{day_start}")
    picked = rng.sample(ids, changed + deleted)
    changed_ids, deleted_ids = sorted(picked[:changed]), sorted(picked[changed:])

    upserts: list[Record] = []
    for record_id in changed_ids:
        record = table.get(record_id)
        assert record is not None
        upserts.append(_changed(entity, record, rng, day_start, day_end))

    next_id = ids[-1] if ids else 0
    new_records: list[Record] = []
    for _ in range(added):
        next_id += rng.randint(1, 3)
        created_at = rng.randint(day_start, day_end - 1)
        if endpoint == "games":
            record = dataset.synth.game(rng, next_id, created_at, ids or [next_id])
            record["updated_at"] = created_at
        else:
            template = dict(table.get(rng.choice(ids)) or {"id": next_id}) if ids else {}
            record = {**template, "id": next_id}
            for key in ("created_at", "updated_at"):
                if key in entity.field_set:
                    record[key] = created_at
        record.pop("checksum", None)
        new_records.append(complete(endpoint, in_key_order(record, entity.fields), day_end))
    upserts.extend(new_records)

    dataset.now = day_end
    table.apply(upserts=upserts, deletes=deleted_ids)
    if endpoint == "games":
        dataset.add_children(new_records)
    return DayChange(
        endpoint,
        tuple(changed_ids),
        tuple(record["id"] for record in new_records),
        tuple(deleted_ids),
        day_start,
        day_end,
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
