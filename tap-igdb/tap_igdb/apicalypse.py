"""Apicalypse query bodies for IGDB v4 (plain-text POST bodies, one clause per `;`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

MAX_LIMIT = 500
"""IGDB answers `limit 501` with a 403."""

MAX_MULTIQUERY_BLOCKS = 10
"""IGDB answers an 11th multiquery block with a 400."""

_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class KeysetWindow:
    """The slice of an endpoint one cursor reads: `id` in (after_id, upto_id], changed since.

    Keyset paging (`id > last; sort id asc`) never drifts the way offsets do when
    records change during a long read.
    """

    after_id: int = -1
    """-1 reads everything: enum tables such as game_types start at id 0."""
    upto_id: int | None = None
    updated_since: int | None = None

    def filter(self) -> str:
        """The `where` expression (without `where` and `;`)."""
        conditions = []
        if self.updated_since is not None:
            conditions.append(f"updated_at >= {self.updated_since}")
        conditions.append(f"id > {self.after_id}")
        if self.upto_id is not None:
            conditions.append(f"id <= {self.upto_id}")
        return " & ".join(conditions)

    def after(self, last_id: int) -> KeysetWindow:
        """The same window, anchored after `last_id`."""
        return replace(self, after_id=last_id)


@dataclass(frozen=True)
class Block:
    """One named query of a multiquery (`endpoint` may be `games/count`)."""

    endpoint: str
    name: str
    body: str


def records_body(
    window: KeysetWindow,
    *,
    limit: int,
    offset: int = 0,
    fields: Iterable[str] | None = None,
) -> str:
    """A page of records in id order: every field (`fields *`) when `fields` is None,
    else those fields and `id` (which keyset paging reads), sorted: one body for one
    selection, whatever order it came in, so retries and tests see the same text."""
    if not 1 <= limit <= MAX_LIMIT:
        msg = f"limit must be between 1 and {MAX_LIMIT}, got {limit}"
        raise ValueError(msg)
    body = f"fields {fields_clause(fields)}; where {window.filter()}; sort id asc; limit {limit};"
    return f"{body} offset {offset};" if offset else body


def fields_clause(fields: Iterable[str] | None) -> str:
    """What follows `fields`: `*`, or `id` and the given names, sorted, comma-separated."""
    if fields is None:
        return "*"
    names = {"id", *fields}
    for name in names:
        if not _FIELD_NAME.fullmatch(name):
            msg = f"not an IGDB field name: {name!r}"
            raise ValueError(msg)
    return ",".join(sorted(names))


def count_body(window: KeysetWindow) -> str:
    """The body for `/{endpoint}/count`."""
    return f"where {window.filter()};"


def boundary_body(window: KeysetWindow, offset: int) -> str:
    """The body returning the id of the window's record at `offset` (0-based, id order)."""
    body = f"fields id; where {window.filter()}; sort id asc; limit 1;"
    return f"{body} offset {offset};" if offset else body


def newest_body(window: KeysetWindow) -> str:
    """The body returning the window's most recent `updated_at`."""
    return f"fields updated_at; where {window.filter()}; sort updated_at desc; limit 1;"


def multiquery_body(blocks: Sequence[Block]) -> str:
    """The body for `/multiquery`: results come back in block order, by name."""
    if not 1 <= len(blocks) <= MAX_MULTIQUERY_BLOCKS:
        msg = f"a multiquery takes 1 to {MAX_MULTIQUERY_BLOCKS} blocks, got {len(blocks)}"
        raise ValueError(msg)
    return "".join(
        f'query {block.endpoint} "{block.name}" {{ {block.body} }};\n' for block in blocks
    )
