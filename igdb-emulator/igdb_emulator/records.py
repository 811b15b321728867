"""Record encoding and identity: JSON bytes in IGDB's key order, UUID-shaped checksums."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

Record = dict[str, Any]

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(dict[str, Any])


def encode(record: object) -> bytes:
    """Compact JSON (records, names, payloads); msgspec keeps the dict's insertion (= key) order."""
    return _encoder.encode(record)


def decode(blob: bytes) -> Record:
    return _decoder.decode(blob)


def in_key_order(record: Mapping[str, Any], order: Iterable[str]) -> Record:
    """The record with its keys in `order`, dropping absent and null values (IGDB omits them)."""
    return {name: record[name] for name in order if record.get(name) is not None}


def checksum(record: Mapping[str, Any]) -> str:
    """A UUID-shaped hash of the record's content (without its old checksum)."""
    content = encode({key: value for key, value in record.items() if key != "checksum"})
    digest = hashlib.md5(content, usedforsecurity=False).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
