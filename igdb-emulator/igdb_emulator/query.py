"""Run a parsed Apicalypse query against a table snapshot.

The hot paths of an extractor (`fields *; where id > N [& updated_at >= T]; sort id asc;
limit 500;`) touch only the (id, updated_at) index and the pre-encoded bytes: no record is
decoded. Anything else (filters or sorts on other fields, field subsets) decodes records.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from igdb_emulator.apicalypse import (
    AllOf,
    And,
    AnyOf,
    ApicalypseError,
    Comparison,
    Condition,
    ExactSet,
    Or,
    Pattern,
    Query,
)
from igdb_emulator.entities import Entity
from igdb_emulator.records import Record, decode, encode
from igdb_emulator.table import NO_UPDATED_AT, Snapshot

INDEXED_FIELDS = frozenset({"id", "updated_at"})
# The updated_at index is used when it leaves at most 1 row in 4 of the id range.
SELECTIVE_SHARE = 4

# A row accessor: (row position, field name) -> the field's value or None.
Getter = Callable[[int, str], Any]
Predicate = Callable[[int], bool]


def validate(query: Query, entity: Entity) -> None:
    """Raise IGDB's Invalid Field error for the first unknown field name."""
    for name in sorted(query.referenced_fields()):
        if name not in entity.field_set:
            raise ApicalypseError("invalid_field", f"Invalid field name: '{name}'")


def execute(query: Query, snapshot: Snapshot, entity: Entity) -> list[bytes]:
    """The JSON objects (as bytes) the query returns, in response order."""
    validate(query, entity)
    positions = _select(query, snapshot, limit=query.offset + query.limit)
    page = positions[query.offset : query.offset + query.limit]
    if query.fields == ("*",) and not query.exclude:
        return [snapshot.blobs[position] for position in page]
    return [_project(decode(snapshot.blobs[position]), query, entity) for position in page]


def count(query: Query, snapshot: Snapshot, entity: Entity) -> int:
    """How many records match the query's `where` (limit and offset do not apply)."""
    validate(query, entity)
    if query.where is None:
        return len(snapshot)
    return len(_select(Query(where=query.where), snapshot, limit=None))


def _select(query: Query, snapshot: Snapshot, limit: int | None) -> list[int]:
    """Row positions that match, sorted; stops early when the order is id order."""
    needed = query.referenced_fields() - set(query.fields) - set(query.exclude)
    if query.sort is not None:
        needed.add(query.sort.field)
    getter = _index_getter(snapshot) if needed <= INDEXED_FIELDS else _decoding_getter(snapshot)
    matches = _compile(query.where, getter) if query.where is not None else None
    low, high = _id_bounds(query.where, snapshot)
    rows: Sequence[int] = range(low, high)
    since = _updated_since(query.where, snapshot, high - low)
    if since is not None:  # only these rows can match: skip the others
        rows = since[bisect.bisect_left(since, low) : bisect.bisect_left(since, high)]

    sort = query.sort
    if sort is None or sort.field == "id":
        descending = sort is not None and sort.descending
        scan: Iterable[int] = reversed(rows) if descending else rows
        found: list[int] = []
        for position in scan:
            if matches is None or matches(position):
                found.append(position)
                if limit is not None and len(found) >= limit:
                    break
        return found

    found = [p for p in rows if matches is None or matches(p)]
    keys = {position: getter(position, sort.field) for position in found}
    present = [position for position in found if keys[position] is not None]
    missing = [position for position in found if keys[position] is None]
    # Python's sort is stable even when reversed: equal keys stay in id order.
    present.sort(key=keys.__getitem__, reverse=sort.descending)
    return present + missing


def _updated_since(where: Condition | None, snapshot: Snapshot, rows: int) -> list[int] | None:
    """The rows an `updated_at >= T` (or `> T`) term of the top-level conjunction allows,
    ascending, when that is a small share of `rows`; None otherwise.

    The incremental reads' hot path: IGDB answers `updated_at >= <yesterday>` from an
    index, so should the emulator, rather than testing every row of a large table.
    """
    for op, value in _numeric_terms(where, "updated_at"):
        if op in (">=", ">"):  # most rows qualifying: a scan is as quick
            at_most = rows // SELECTIVE_SHARE
            return snapshot.updated_since(value, inclusive=op == ">=", at_most=at_most)
    return None


def _numeric_terms(where: Condition | None, field: str) -> Iterator[tuple[str, float]]:
    """(operator, number) of each comparison of `field` in the top-level conjunction."""
    terms: tuple[Condition, ...] = ()
    if isinstance(where, Comparison):
        terms = (where,)
    elif isinstance(where, And):
        terms = where.terms
    for term in terms:
        if not isinstance(term, Comparison) or term.field != field:
            continue
        value = term.value
        if not isinstance(value, bool) and isinstance(value, int | float):
            yield term.op, value


def _id_bounds(where: Condition | None, snapshot: Snapshot) -> tuple[int, int]:
    """The row range an `id` constraint of the top-level conjunction allows."""
    low, high = 0, len(snapshot)
    for op, value in _numeric_terms(where, "id"):
        if op == ">":
            low = max(low, bisect.bisect_right(snapshot.ids, value))
        elif op == ">=":
            low = max(low, bisect.bisect_left(snapshot.ids, value))
        elif op == "<":
            high = min(high, bisect.bisect_left(snapshot.ids, value))
        elif op == "<=":
            high = min(high, bisect.bisect_right(snapshot.ids, value))
        elif op == "=":
            low = max(low, bisect.bisect_left(snapshot.ids, value))
            high = min(high, bisect.bisect_right(snapshot.ids, value))
    return low, max(low, high)


def _index_getter(snapshot: Snapshot) -> Getter:
    ids, updated = snapshot.ids, snapshot.updated

    def get(position: int, name: str) -> Any:
        if name == "id":
            return ids[position]
        value = updated[position]
        return None if value == NO_UPDATED_AT else value

    return get


def _decoding_getter(snapshot: Snapshot) -> Getter:
    cache: dict[int, Record] = {}

    def get(position: int, name: str) -> Any:
        record = cache.get(position)
        if record is None:
            record = decode(snapshot.blobs[position])
            cache.clear()  # rows are visited one after another: keep only the current one
            cache[position] = record
        return record.get(name)

    return get


def _compile(condition: Condition, get: Getter) -> Predicate:
    if isinstance(condition, And):
        parts = [_compile(term, get) for term in condition.terms]
        return lambda position: all(part(position) for part in parts)
    if isinstance(condition, Or):
        parts = [_compile(term, get) for term in condition.terms]
        return lambda position: any(part(position) for part in parts)
    name, test = condition.field, _value_test(condition)
    return lambda position: test(get(position, name))


def _value_test(comparison: Comparison) -> Callable[[Any], bool]:
    op, value = comparison.op, comparison.value
    if value is None or isinstance(value, ExactSet | AllOf | AnyOf):
        positive = _set_test(value)
        return positive if op in ("=", "~") else lambda actual: not positive(actual)
    element = _element_test(op, value)
    if op == "!=":  # on an array: none of the elements equals the value
        return lambda actual: all(element(item) for item in _as_list(actual))
    return lambda actual: any(element(item) for item in _as_list(actual))


def _set_test(value: ExactSet | AllOf | AnyOf | None) -> Callable[[Any], bool]:
    """The `=` meaning of null, `{exact}`, `[all of]` and `(any of)`."""
    if value is None:
        return _is_empty
    wanted = set(value.values)
    if isinstance(value, ExactSet):
        return lambda actual: isinstance(actual, list) and set(actual) == wanted
    if isinstance(value, AllOf):
        return lambda actual: wanted <= set(_as_list(actual))
    return lambda actual: any(item in wanted for item in _as_list(actual))


def _is_empty(actual: Any) -> bool:
    return actual is None or actual == []


def _element_test(op: str, value: Any) -> Callable[[Any], bool]:
    if isinstance(value, Pattern) or (isinstance(value, str) and op == "~"):
        pattern = value if isinstance(value, Pattern) else Pattern(value, False, False)
        fold = op == "~"
        matches = _string_matcher(pattern, fold=fold)
        return lambda item: isinstance(item, str) and matches(item)
    if op == "=":
        return lambda item: item == value
    if op == "!=":
        return lambda item: item != value
    comparisons: dict[str, Callable[[Any], bool]] = {
        ">": lambda item: item > value,
        ">=": lambda item: item >= value,
        "<": lambda item: item < value,
        "<=": lambda item: item <= value,
    }
    compare = comparisons[op]

    def safe(item: Any) -> bool:
        try:
            return compare(item)
        except TypeError:  # a string compared with a number matches nothing
            return False

    return safe


def _string_matcher(pattern: Pattern, *, fold: bool) -> Callable[[str], bool]:
    text = pattern.text.casefold() if fold else pattern.text

    def matches(item: str) -> bool:
        candidate = item.casefold() if fold else item
        if pattern.prefix_wildcard and pattern.suffix_wildcard:
            return text in candidate
        if pattern.prefix_wildcard:
            return candidate.endswith(text)
        if pattern.suffix_wildcard:
            return candidate.startswith(text)
        return candidate == text

    return matches


def _as_list(actual: Any) -> list[Any]:
    if actual is None:
        return []
    return actual if isinstance(actual, list) else [actual]


def _project(record: Record, query: Query, entity: Entity) -> bytes:
    wanted = entity.field_set if query.fields == ("*",) else {"id", *query.fields}
    wanted = wanted - set(query.exclude) | {"id"}
    return encode(
        {name: record[name] for name in entity.fields if name in wanted and name in record}
    )
