"""IGDB responses kept as raw JSON until the main thread needs their records.

A worker thread only skims a response: it checks that the JSON is whole and reads
what paging needs (how many records each block holds, the last id, a count). The
records themselves stay as slices of the response body (`msgspec.Raw`, no copy) and
are decoded on the main thread, one response at a time, just before they are sent
on. A decoded response of 5,000 games takes ~21 MB against ~6 MB of JSON, so holding
JSON rather than dicts per worker keeps the tap's memory small and flat.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

import msgspec

Record = dict[str, t.Any]

_EMPTY = msgspec.Raw(b"[]")


class _Id(msgspec.Struct):
    id: int


class _Block(msgspec.Struct):
    name: str
    result: msgspec.Raw = _EMPTY
    count: int | None = None


class _Count(msgspec.Struct):
    count: int


_records_skim = msgspec.json.Decoder(list[_Id])
_multiquery_skim = msgspec.json.Decoder(list[_Block])
_count_skim = msgspec.json.Decoder(_Count)
_decoder = msgspec.json.Decoder()
_T = t.TypeVar("_T")


class BrokenJSONError(ValueError):
    """The body is not whole JSON (truncated or corrupt): worth asking again."""


class UnexpectedShapeError(ValueError):
    """Whole JSON, but not the shape IGDB answers with."""


@dataclass(frozen=True)
class RawRecords:
    """One JSON array of records, undecoded, with what paging needs to know of it."""

    raw: msgspec.Raw
    size: int
    last_id: int | None

    def decode(self) -> list[Record]:
        """The records as dicts, exactly as IGDB sent them (key order kept)."""
        return list(_decoder.decode(self.raw)) if self.size else []


Answer = RawRecords | int
"""A block's answer: its records (undecoded), or the number a `/count` block gives."""


def skim_records(body: bytes | msgspec.Raw) -> RawRecords:
    """Skim a JSON array of records (ids only)."""
    ids = _skim(_records_skim, body, "an array of records with ids")
    return RawRecords(
        raw=body if isinstance(body, msgspec.Raw) else msgspec.Raw(body),
        size=len(ids),
        last_id=ids[-1].id if ids else None,
    )


def skim_count(body: bytes | msgspec.Raw) -> int:
    """The `{"count": N}` of a `/count` request."""
    return _skim(_count_skim, body, 'an object {"count": N}').count


def skim_multiquery(body: bytes) -> dict[str, Answer]:
    """Each block of a multiquery answer by name: its records, or its count."""
    answers: dict[str, Answer] = {}
    for block in _skim(_multiquery_skim, body, "an array of named blocks"):
        answers[block.name] = block.count if block.count is not None else skim_records(block.result)
    return answers


def decode_json(body: bytes) -> t.Any:
    """Any JSON body (error answers); BrokenJSONError when it is not JSON."""
    try:
        return _decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise BrokenJSONError(str(exc)) from None


def _skim(decoder: msgspec.json.Decoder[_T], body: bytes | msgspec.Raw, expected: str) -> _T:
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        msg = f"expected {expected}: {exc}"
        raise UnexpectedShapeError(msg) from None
    except msgspec.DecodeError as exc:
        raise BrokenJSONError(str(exc)) from None
