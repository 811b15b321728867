"""Schema drift: records served with a field they did not have, or a field of another type.

The stored records stay as they are; `new_field` and `change_type` faults reshape them
on the way out (and in `Emulator.truth`), so clearing the faults is the source fixed.
Records are decoded only while such a fault is active.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from igdb_emulator.faults import Fault
from igdb_emulator.records import Record, decode, encode


def reshape(record: Record, faults: Sequence[Fault], *, whole: bool) -> Record:
    """`record` as the drifted source serves it; `whole`: it was asked for with `fields *`."""
    shaped = record
    for fault in faults:
        if fault.field is None:
            continue
        if fault.kind == "new_field" and whole:
            shaped = {**shaped, fault.field: fault.value}
        elif fault.kind == "change_type" and fault.field in shaped:
            if fault.ids and shaped["id"] not in fault.ids:
                continue
            shaped = {**shaped, fault.field: _retyped(shaped[fault.field], fault)}
    return shaped


def reshape_blobs(blobs: list[bytes], faults: Sequence[Fault], *, whole: bool) -> list[bytes]:
    """Encoded records, reshaped (unchanged, and not decoded, without drift faults)."""
    if not faults:
        return blobs
    return [encode(reshape(decode(blob), faults, whole=whole)) for blob in blobs]


def _retyped(value: Any, fault: Fault) -> Any:
    if fault.to == "string":
        return value if isinstance(value, str) else encode(value).decode()
    if isinstance(value, list):  # a list of ids, each expanded
        return [{"id": item} for item in value]
    return {"id": value}
