"""The check that every field IGDB sends has a type its stream's schema allows.

Records leave the tap exactly as IGDB sent them, and dbt reads each field with the
type the schema declares. A field whose type changed at IGDB (a rating sent as a
string, an id expanded into an object) would either stop every later dbt run or be
cast silently, and the SDK would compare a string bookmark with an integer one. So the
tap checks each response before handing any of its records on, and fails the stream
with one line naming the stream, record and field: nothing of that response is loaded,
the bookmark stays, the other streams go on (the run fails at its end), and the run
after IGDB (or the schema) is fixed reads it again.

Fields missing from the schema are not checked here: they are kept as IGDB sent them.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from tap_igdb.errors import FieldTypeError

_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}
_JSON_KINDS = {
    int: "integer",
    float: "number",
    str: "string",
    bool: "boolean",
    list: "array",
    dict: "object",
    type(None): "null",
}
_SHOWN_CHARS = 60


class FieldTypes:
    """The allowed types of a stream's fields, from its JSON schema."""

    def __init__(self, stream: str, schema: Mapping[str, Any]) -> None:
        self._stream = stream
        self._scalars: dict[str, frozenset[type]] = {}
        self._integer_arrays: set[str] = set()
        self._expected: dict[str, str] = {}
        for name, spec in schema.get("properties", {}).items():
            kinds = spec.get("type", [])
            kinds = [kinds] if isinstance(kinds, str) else list(kinds)
            item_kinds = spec.get("items", {}).get("type")
            if kinds and set(kinds) <= {"array", "null"} and item_kinds == "integer":
                self._integer_arrays.add(name)
                kinds = ["array of integer" if kind == "array" else kind for kind in kinds]
            elif kinds:
                self._scalars[name] = frozenset(t for kind in kinds for t in _PYTHON_TYPES[kind])
            self._expected[name] = " or ".join(kinds)

    def check(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Raise FieldTypeError for the first value the schema does not allow.

        The hot path: one dict lookup and one set test per field; integer lists are
        checked in C by copying them into a 64-bit array (which also catches ids too
        large for a bigint).
        """
        scalars, integer_arrays = self._scalars, self._integer_arrays
        for record in records:
            for name, value in record.items():
                allowed = scalars.get(name)
                if allowed is not None:
                    if type(value) not in allowed:
                        raise self._error(record, name, value)
                elif name in integer_arrays and value is not None:
                    if type(value) is not list:
                        raise self._error(record, name, value)
                    try:
                        array("q", value)
                    except (TypeError, OverflowError):
                        raise self._error(record, name, value) from None

    def _error(self, record: Mapping[str, Any], name: str, value: Any) -> FieldTypeError:
        return FieldTypeError(
            f"{self._stream}: IGDB sent record {_shown(record.get('id'))} with field "
            f"'{name}' as {_JSON_KINDS.get(type(value), type(value).__name__)} "
            f"{_shown(value)}, not {self._expected[name]}; stopped before loading any "
            "record of that response (if IGDB changed the type for good, update "
            f"tap_igdb/schemas/{self._stream}.json)"
        )


def _shown(value: Any) -> str:
    """The value as compact JSON, cut short."""
    text = msgspec.json.encode(value).decode()
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."
