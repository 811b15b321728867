"""Faults a test injects into the API.

Transport faults answer the next `count` requests badly: rate limiting, 5xx, slowness,
broken JSON, token loss. `hold` keeps requests waiting on arrival until the test
releases them, so that what the test does meanwhile (kill the client, revoke its
token) lands while the client is provably waiting on that request. Source faults
keep answering 200 while the data misbehaves: records change while a reader pages
through them (`change_during_read`), records carry a field the reader has never seen
(`new_field`) or a field of another type (`change_type`). Schema drift lasts until the
faults are cleared (the source fixed).
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
import threading
import typing
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from igdb_emulator.entities import ENTITIES

FaultKind = Literal[
    "rate_limit",
    "server_error",
    "slow",
    "truncated_json",
    "invalid_json",
    "revoke_tokens",
    "expire_tokens_after",
    "hold",
    "change_during_read",
    "new_field",
    "change_type",
]
NewType = Literal["string", "object"]
"""`string`: the value as JSON text (85.3 -> "85.3"); `object`: ids expanded ({"id": 6})."""

HOLD_EVERY = sys.maxsize
"""A `hold` fault's count when it holds every matching request (count=None)."""
RESPONSE_KINDS = frozenset({"rate_limit", "server_error", "slow", "truncated_json", "invalid_json"})
DRIFT_KINDS = frozenset({"new_field", "change_type"})


@dataclass
class Fault:
    """One fault. Transport faults apply to the next `count` API requests (of `endpoint`,
    when set); `change_during_read` fires once, after `count` pages of its endpoint."""

    kind: FaultKind
    count: int = 1
    after: int = 0
    """hold: matching requests let through before the held ones."""
    status: int = 502
    seconds: float = 0.0
    endpoint: str | None = None
    field: str | None = None
    """new_field: the new field's name; change_type: the field whose type changes."""
    value: Any = None
    """new_field: the value every record carries."""
    to: NewType | None = None
    """change_type: what the field's values become."""
    ids: tuple[int, ...] = ()
    """change_type: only these records (empty: all); change_during_read: also these."""
    changed: int = 0
    added: int = 0
    seed: int = 0

    # --- transport faults -----------------------------------------------------------

    @classmethod
    def rate_limit(cls, count: int = 1, endpoint: str | None = None) -> Fault:
        return cls("rate_limit", count, endpoint=endpoint)

    @classmethod
    def server_error(cls, count: int = 1, status: int = 502, endpoint: str | None = None) -> Fault:
        return cls("server_error", count, status=status, endpoint=endpoint)

    @classmethod
    def slow(cls, count: int = 1, seconds: float = 1.0, endpoint: str | None = None) -> Fault:
        return cls("slow", count, seconds=seconds, endpoint=endpoint)

    @classmethod
    def truncated_json(cls, count: int = 1, endpoint: str | None = None) -> Fault:
        return cls("truncated_json", count, endpoint=endpoint)

    @classmethod
    def invalid_json(cls, count: int = 1, endpoint: str | None = None) -> Fault:
        return cls("invalid_json", count, endpoint=endpoint)

    @classmethod
    def revoke_tokens(cls) -> Fault:
        """Every token issued so far becomes invalid at once (401 until a new one is fetched)."""
        return cls("revoke_tokens", 1)

    @classmethod
    def expire_tokens_after(cls, requests: int, endpoint: str | None = None) -> Fault:
        """The current tokens serve `requests` more API requests, then expire."""
        return cls("expire_tokens_after", requests, endpoint=endpoint)

    @classmethod
    def hold(cls, after: int = 0, count: int | None = 1, endpoint: str | None = None) -> Fault:
        """Of the API requests of `endpoint` (any, when None), let `after` through, then
        hold the next `count` (None: every one, until the faults are cleared) on arrival:
        each waits unanswered until `release()` (or until its client hangs up) and is
        then handled as if it arrived at that moment. `wait_held()` tells when a request
        is being held."""
        if after < 0:
            raise ValueError(f"hold: after must be >= 0, got {after}")
        if count is not None and count < 1:
            raise ValueError(f"hold: count must be at least 1, got {count}")
        return cls("hold", HOLD_EVERY if count is None else count, after=after, endpoint=endpoint)

    # --- source faults --------------------------------------------------------------

    @classmethod
    def change_during_read(
        cls,
        after: int = 1,
        *,
        changed: int = 10,
        added: int = 2,
        endpoint: str = "games",
        seconds: float = 60,
        seed: int = 0,
        ids: Sequence[int] = (),
    ) -> Fault:
        """Once `after` responses serving pages of `endpoint`'s records have been answered
        (`fields *`; a multiquery counts once, probes such as counts or `fields id` not at
        all), the source changes before it answers another: `changed` records get a new
        version (half from that last page, which the reader has; half the highest ids not
        on it, which it has not reached), as do `ids`, and `added` new records appear
        above the highest id. The changes are stamped within `seconds` after the emulator's
        clock, which moves on by `seconds`: the edits happened while the reader was paging.
        """
        _check_endpoint(endpoint)
        if after < 1:
            raise ValueError(f"change_during_read: after must be at least 1, got {after}")
        if changed < 0 or added < 0:
            raise ValueError("change_during_read: changed and added must be >= 0")
        if seconds < 1:
            raise ValueError(f"change_during_read: seconds must be at least 1, got {seconds}")
        return cls(
            "change_during_read",
            after,
            seconds=float(seconds),
            endpoint=endpoint,
            ids=tuple(ids),
            changed=changed,
            added=added,
            seed=seed,
        )

    @classmethod
    def new_field(cls, field: str, value: Any, endpoint: str = "games") -> Fault:
        """Every record of `endpoint` served whole (`fields *`) carries `field: value`,
        after its other fields, as IGDB adds fields without notice."""
        _check_endpoint(endpoint)
        if not field:
            raise ValueError("new_field: field must be a non-empty name")
        if field in ENTITIES[endpoint].field_set:
            raise ValueError(f"new_field: {field!r} is already a {endpoint} field")
        return cls("new_field", 0, endpoint=endpoint, field=field, value=value)

    @classmethod
    def change_type(
        cls, field: str, to: NewType, endpoint: str = "games", ids: Sequence[int] = ()
    ) -> Fault:
        """`field` of `endpoint`'s records (of `ids` only, when given) is served as `to`:
        `string` (its JSON text) or `object` (an id, or each id of a list, as {"id": n})."""
        _check_endpoint(endpoint)
        if to not in typing.get_args(NewType):
            raise ValueError(f"change_type: to must be string or object, got {to!r}")
        if field == "id" or field not in ENTITIES[endpoint].field_set:
            raise ValueError(f"change_type: {field!r} is not a {endpoint} field other than id")
        return cls("change_type", 0, endpoint=endpoint, field=field, to=to, ids=tuple(ids))

    # --- the admin API --------------------------------------------------------------

    @classmethod
    def from_spec(cls, spec: dict[str, object]) -> Fault:
        """Build from the admin API's JSON: {"kind": "server_error", "count": 3, ...}.

        `kind` names a constructor; the other keys are its arguments (`count` is also
        accepted for `expire_tokens_after`'s `requests`).
        """
        kind = spec.get("kind")
        if kind not in typing.get_args(FaultKind):
            raise ValueError(f"unknown fault kind {kind!r}")
        arguments = {key: value for key, value in spec.items() if key != "kind"}
        if kind == "expire_tokens_after" and "count" in arguments:
            arguments.setdefault("requests", arguments.pop("count"))
        accepted = _SPEC_ARGUMENTS[str(kind)]
        unknown = set(arguments) - set(accepted)
        if unknown:
            raise ValueError(f"unknown fault fields for {kind}: {sorted(unknown)}")
        for name, value in arguments.items():
            if not accepted[name](value):
                raise ValueError(f"fault {kind}: bad {name} {value!r}")
        constructor: Callable[..., Fault] = getattr(cls, str(kind))
        required = [
            name
            for name, parameter in inspect.signature(constructor).parameters.items()
            if parameter.default is inspect.Parameter.empty
        ]
        missing = [name for name in required if name not in arguments]
        if missing:
            raise ValueError(f"fault {kind} needs {', '.join(missing)}")
        return constructor(**arguments)


def _check_endpoint(endpoint: str) -> None:
    if endpoint not in ENTITIES:
        raise ValueError(f"unknown endpoint {endpoint!r}")


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _count_or_none(value: object) -> bool:
    return value is None or _count(value)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _text(value: object) -> bool:
    return isinstance(value, str)


def _ids(value: object) -> bool:
    return isinstance(value, list) and all(_count(item) for item in value)


def _any(value: object) -> bool:
    return True


_TRANSPORT: dict[str, Callable[[object], bool]] = {"count": _count, "endpoint": _text}
_SPEC_ARGUMENTS: dict[str, dict[str, Callable[[object], bool]]] = {
    "rate_limit": _TRANSPORT,
    "server_error": {**_TRANSPORT, "status": _count},
    "slow": {**_TRANSPORT, "seconds": _number},
    "truncated_json": _TRANSPORT,
    "invalid_json": _TRANSPORT,
    "revoke_tokens": {},
    "expire_tokens_after": {"requests": _count, "endpoint": _text},
    "hold": {"after": _count, "count": _count_or_none, "endpoint": _text},
    "change_during_read": {
        "after": _count,
        "changed": _count,
        "added": _count,
        "endpoint": _text,
        "seconds": _number,
        "seed": _count,
        "ids": _ids,
    },
    "new_field": {"field": _text, "value": _any, "endpoint": _text},
    "change_type": {"field": _text, "to": _text, "endpoint": _text, "ids": _ids},
}


class FaultQueue:
    """Thread-safe list of pending faults; each request consumes the ones it triggers."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return [dataclasses.replace(fault) for fault in self._faults]

    def expired(self, endpoint: str) -> bool:
        """Count one request against `expire_tokens_after` faults; True when one runs out.

        Called before authentication: the request that finds the countdown at zero is the
        first one whose token has expired.
        """
        fired = False
        with self._lock:
            for fault in self._faults:
                if fault.kind != "expire_tokens_after" or fault.endpoint not in (None, endpoint):
                    continue
                fired = fired or fault.count == 0
                fault.count -= 1
            self._faults = [
                fault
                for fault in self._faults
                if fault.kind != "expire_tokens_after" or fault.count >= 0
            ]
        return fired

    def take_hold(self, endpoint: str) -> bool:
        """Count one arriving API request against the `hold` faults; True: hold it."""
        held = False
        with self._lock:
            for fault in self._faults:
                if fault.kind != "hold" or fault.endpoint not in (None, endpoint):
                    continue
                if fault.after > 0:
                    fault.after -= 1
                elif not held:
                    fault.count -= 1
                    held = True
            self._faults = [
                fault for fault in self._faults if fault.kind != "hold" or fault.count > 0
            ]
        return held

    def take(self, endpoint: str) -> list[Fault]:
        """The response faults that apply to one authenticated request, each counted down."""
        fired: list[Fault] = []
        with self._lock:
            for fault in self._faults:
                if fault.kind not in RESPONSE_KINDS or fault.endpoint not in (None, endpoint):
                    continue
                if fault.count > 0:
                    fault.count -= 1
                    fired.append(fault)
            self._faults = [
                fault
                for fault in self._faults
                if fault.kind not in RESPONSE_KINDS or fault.count > 0
            ]
        return fired

    def answered(self, paged: Iterable[str]) -> list[Fault]:
        """Count one answered request that served pages of the endpoints `paged`; the
        `change_during_read` faults whose countdown ends leave the queue, to be applied."""
        read = set(paged)
        due: list[Fault] = []
        with self._lock:
            for fault in self._faults:
                if fault.kind == "change_during_read" and fault.endpoint in read:
                    fault.count -= 1
                    if fault.count == 0:
                        due.append(fault)
            self._faults = [
                fault
                for fault in self._faults
                if fault.kind != "change_during_read" or fault.count > 0
            ]
        return due

    def drift(self, endpoint: str) -> list[Fault]:
        """The schema-drift faults that shape `endpoint`'s records, in the order added."""
        with self._lock:
            return [f for f in self._faults if f.kind in DRIFT_KINDS and f.endpoint == endpoint]


@dataclass(frozen=True)
class HeldRequest:
    """A request a `hold` fault keeps waiting."""

    endpoint: str
    body: str


HOLD_POLL_SECONDS = 0.05
"""How often a held request checks whether its client hung up."""


class HeldRequests:
    """The requests held now: their handler threads wait here until released."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._held: list[tuple[HeldRequest, threading.Event]] = []
        self._total = 0

    def hold(self, request: HeldRequest, let_go: Callable[[], bool]) -> None:
        """Block until released, or until `let_go()` (the client hung up, the server stops)."""
        entry = (request, threading.Event())
        with self._changed:
            self._held.append(entry)
            self._total += 1
            self._changed.notify_all()
        try:
            while not entry[1].wait(HOLD_POLL_SECONDS):
                if let_go():
                    return
        finally:
            with self._changed:
                self._held.remove(entry)
                self._changed.notify_all()

    def held(self) -> list[HeldRequest]:
        with self._changed:
            return [request for request, _ in self._held]

    def wait(self, count: int, timeout: float | None) -> bool:
        """Whether `count` requests have been held (since the start) within `timeout` s."""
        with self._changed:
            return self._changed.wait_for(lambda: self._total >= count, timeout)

    def release(self) -> int:
        """Let every request held now go on; how many there were."""
        with self._changed:
            for _, released in self._held:
                released.set()
            return len(self._held)
