"""One endpoint's records, held compactly: pre-encoded JSON plus an (id, updated_at) index.

Readers take an immutable `Snapshot` and work without locks; writers (advance_day) build a
new snapshot and swap it in, so a page being served never sees a half-applied change.
"""

from __future__ import annotations

import bisect
import threading
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

from igdb_emulator.entities import Entity
from igdb_emulator.records import Record, RowEncoder, decode

NO_UPDATED_AT = -1


@dataclass(frozen=True)
class Snapshot:
    """Rows sorted by id: `ids[i]`, `updated[i]` (NO_UPDATED_AT when absent) and `blobs[i]`."""

    ids: array[int]
    updated: array[int]
    blobs: list[bytes]

    def __len__(self) -> int:
        return len(self.ids)

    @cached_property
    def _by_updated(self) -> tuple[list[int], list[int]]:
        """(updated_at values ascending, their row positions), rows without one left out;
        built on first use, once per snapshot."""
        order = sorted(
            (p for p in range(len(self.ids)) if self.updated[p] != NO_UPDATED_AT),
            key=self.updated.__getitem__,
        )
        return [self.updated[p] for p in order], order

    def updated_since(self, value: float, *, inclusive: bool, at_most: int) -> list[int] | None:
        """Row positions, ascending, whose updated_at is >= `value` (> when not
        inclusive); None when more than `at_most` rows qualify."""
        values, positions = self._by_updated
        first = (bisect.bisect_left if inclusive else bisect.bisect_right)(values, value)
        if len(values) - first > at_most:
            return None
        return sorted(positions[first:])

    def index_of(self, record_id: int) -> int | None:
        position = bisect.bisect_left(self.ids, record_id)
        if position < len(self.ids) and self.ids[position] == record_id:
            return position
        return None


class Table:
    def __init__(self, entity: Entity, snapshot: Snapshot) -> None:
        self.entity = entity
        self._snapshot = snapshot
        self._write_lock = threading.Lock()

    @classmethod
    def from_records(
        cls, entity: Entity, records: Iterable[Record], *, add_checksums: bool = False
    ) -> Table:
        """Build from dicts (any key order; keys outside the entity are an error);
        `add_checksums`: give records lacking one the checksum of their content."""
        encoder = row_encoder(entity)
        make = encoder.checked_row if add_checksums else encoder.row
        rows = sorted(map(make, records), key=_first)
        return cls.from_rows(entity, rows)

    @classmethod
    def from_rows(cls, entity: Entity, rows: Iterable[tuple[int, int, bytes]]) -> Table:
        """Build from (id, updated_at, json) rows already sorted by id."""
        ids: array[int] = array("q")
        updated: array[int] = array("q")
        blobs: list[bytes] = []
        for record_id, updated_at, blob in rows:
            ids.append(record_id)
            updated.append(updated_at)
            blobs.append(blob)
        if any(ids[i] >= ids[i + 1] for i in range(len(ids) - 1)):
            raise ValueError(f"{entity.name}: rows must have unique ids in ascending order")
        return cls(entity, Snapshot(ids, updated, blobs))

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    def __len__(self) -> int:
        return len(self._snapshot)

    def get(self, record_id: int) -> Record | None:
        snapshot = self._snapshot
        position = snapshot.index_of(record_id)
        return None if position is None else decode(snapshot.blobs[position])

    def records(self) -> Iterator[Record]:
        """Every record, decoded, in id order."""
        for blob in self._snapshot.blobs:
            yield decode(blob)

    def apply(self, upserts: Iterable[Record] = (), deletes: Iterable[int] = ()) -> None:
        """Insert or replace `upserts` and remove `deletes`, as one atomic change."""
        with self._write_lock:
            rows = {
                record_id: (updated_at, blob)
                for record_id, updated_at, blob in zip(
                    self._snapshot.ids, self._snapshot.updated, self._snapshot.blobs, strict=True
                )
            }
            encoder = row_encoder(self.entity)
            for record in upserts:
                record_id, updated_at, blob = encoder.row(record)
                rows[record_id] = (updated_at, blob)
            for record_id in deletes:
                rows.pop(record_id, None)
            ordered = sorted(rows.items())
            self._snapshot = Snapshot(
                array("q", (record_id for record_id, _ in ordered)),
                array("q", (updated_at for _, (updated_at, _) in ordered)),
                [blob for _, (_, blob) in ordered],
            )


_ENCODERS: dict[str, RowEncoder] = {}


def row_encoder(entity: Entity) -> RowEncoder:
    encoder = _ENCODERS.get(entity.name)
    if encoder is None or encoder.fields != entity.fields:
        encoder = _ENCODERS[entity.name] = RowEncoder(entity.name, entity.fields, NO_UPDATED_AT)
    return encoder


def _first(row: tuple[int, int, bytes]) -> int:
    return row[0]
