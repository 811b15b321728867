"""The IGDB endpoints the emulator serves and each entity's fields in response key order.

The catalogue (catalog.json) lists, per endpoint, every field as `[name, kind, target]`:
kind is one of int, number, string, bool, time (unix seconds), enum (a pre-2025 code),
ref / refs (one id / a list of ids of `target`), ints / strings / numbers (plain lists).
IGDB writes keys in protobuf field-number order: `id` first, then the older fields,
then `checksum`, then fields added later; the catalogue keeps that order, and it agrees
with every record of the real samples (a test checks that) and with the tap's schemas
(tests/test_entity_contract.py). Deprecated fields IGDB no longer returns (games'
`category`, `collection`, `follows`, ...) are left out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from importlib import resources

Kind = str
CATALOG = "catalog.json"


@dataclass(frozen=True)
class Field:
    """One field of an entity: its kind and, for references, the endpoint it points at."""

    name: str
    kind: Kind
    target: str | None = None

    @property
    def is_reference(self) -> bool:
        return self.kind in ("ref", "refs")


@dataclass(frozen=True)
class Entity:
    """One IGDB endpoint: its name and the fields its records may carry, in key order."""

    name: str
    fields: tuple[str, ...]
    kinds: tuple[Field, ...] = ()

    @cached_property  # asked for every record a table holds
    def field_set(self) -> frozenset[str]:
        return frozenset(self.fields)

    @property
    def has_updated_at(self) -> bool:
        return "updated_at" in self.fields

    @property
    def references(self) -> tuple[Field, ...]:
        """The fields that hold ids of other records."""
        return tuple(field for field in self.kinds if field.is_reference)


def _load() -> dict[str, Entity]:
    document = json.loads(resources.files(__package__).joinpath(CATALOG).read_text("utf-8"))
    entities: dict[str, Entity] = {}
    for name, rows in document.items():
        kinds = tuple(Field(field, kind, target) for field, kind, target in rows)
        entities[name] = Entity(name, tuple(field.name for field in kinds), kinds)
    return entities


ENTITIES: dict[str, Entity] = _load()
GAME_FIELDS = ENTITIES["games"].fields


def entity(name: str) -> Entity:
    """The entity served at `name`; KeyError for an endpoint IGDB would answer with 404."""
    return ENTITIES[name]
