"""Record encoding and identity: JSON bytes in IGDB's key order, UUID-shaped checksums."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

Record = dict[str, Any]

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(dict[str, Any])
_md5 = hashlib.md5


def encode(record: object) -> bytes:
    """Compact JSON (records, names, payloads); msgspec keeps the dict's insertion (= key) order."""
    return _encoder.encode(record)


def decode(blob: bytes) -> Record:
    return _decoder.decode(blob)


def in_key_order(record: Mapping[str, Any], order: Iterable[str]) -> Record:
    """The record with its keys in `order`, dropping absent and null values (IGDB omits them)."""
    return {name: record[name] for name in order if record.get(name) is not None}


def checksum_of(content: bytes) -> str:
    """A UUID-shaped hash of encoded record content (the record without its checksum)."""
    digest = _md5(content, usedforsecurity=False).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def checksum(record: Mapping[str, Any]) -> str:
    """A UUID-shaped hash of the record's content (without its old checksum)."""
    return checksum_of(encode({key: value for key, value in record.items() if key != "checksum"}))


class RowEncoder:
    """Encodes one entity's records as (id, updated_at, JSON) rows in one pass, in C.

    A record becomes a msgspec Struct whose fields are the entity's, in key order, every one
    defaulting to None and left out when None: encoding it gives exactly
    `encode(in_key_order(record, fields))`. A record without a checksum (of an entity that
    has one) is encoded without it, hashed, given the checksum and encoded again: the
    checksum `checksum()` would compute, from the very bytes it hashes.
    """

    def __init__(self, name: str, fields: tuple[str, ...], no_updated_at: int) -> None:
        self.name = name
        self.fields = fields
        self.field_set = frozenset(fields)
        self.no_updated_at = no_updated_at
        self.has_checksum = "checksum" in fields
        self.has_updated_at = "updated_at" in fields
        self.struct = msgspec.defstruct(
            f"{name}_row", [(field, Any, None) for field in fields], omit_defaults=True
        )

    def row(self, record: Mapping[str, Any]) -> tuple[int, int, bytes]:
        """The record as it is (a missing checksum stays missing)."""
        return self._row(record, add_checksum=False)

    def checked_row(self, record: Mapping[str, Any]) -> tuple[int, int, bytes]:
        """The record with its checksum computed when the entity has one it lacks."""
        return self._row(record, add_checksum=True)

    def _row(self, record: Mapping[str, Any], *, add_checksum: bool) -> tuple[int, int, bytes]:
        try:
            row = self.struct(**record)
        except TypeError:
            unknown = sorted(set(record) - self.field_set)
            raise ValueError(
                f"{self.name} record {record.get('id')}: unknown fields {unknown}"
            ) from None
        if add_checksum and self.has_checksum and row.checksum is None:  # type: ignore[attr-defined]
            row.checksum = checksum_of(_encoder.encode(row))  # type: ignore[attr-defined]
        updated = row.updated_at if self.has_updated_at else None  # type: ignore[attr-defined]
        return (
            row.id,  # type: ignore[attr-defined]
            self.no_updated_at if updated is None else updated,
            _encoder.encode(row),
        )
