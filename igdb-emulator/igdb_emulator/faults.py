"""Faults a test injects into the API: rate limiting, 5xx, slowness, broken JSON, token loss."""

from __future__ import annotations

import threading
import typing
from dataclasses import dataclass
from typing import Literal

FaultKind = Literal[
    "rate_limit",
    "server_error",
    "slow",
    "truncated_json",
    "invalid_json",
    "revoke_tokens",
    "expire_tokens_after",
]


@dataclass
class Fault:
    """One fault: applies to the next `count` API requests (of `endpoint`, when set)."""

    kind: FaultKind
    count: int = 1
    status: int = 502
    seconds: float = 0.0
    endpoint: str | None = None

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
    def from_spec(cls, spec: dict[str, object]) -> Fault:
        """Build from the admin API's JSON: {"kind": "server_error", "count": 3, ...}."""
        allowed = {"kind", "count", "status", "seconds", "endpoint", "requests"}
        unknown = set(spec) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        kind = spec.get("kind")
        if kind not in typing.get_args(FaultKind):
            raise ValueError(f"unknown fault kind {kind!r}")
        count = spec.get("requests", spec.get("count", 1))
        status, seconds, endpoint = (
            spec.get("status", 502),
            spec.get("seconds", 0.0),
            spec.get("endpoint"),
        )
        if not isinstance(count, int) or count < 0 or not isinstance(status, int):
            raise ValueError("fault count/requests and status must be non-negative integers")
        if not isinstance(seconds, int | float) or (
            endpoint is not None and not isinstance(endpoint, str)
        ):
            raise ValueError("fault seconds must be a number and endpoint a string")
        return cls(kind, count, status=status, seconds=float(seconds), endpoint=endpoint)  # type: ignore[arg-type]  # kind checked against FaultKind above


class FaultQueue:
    """Thread-safe list of pending faults; `take` consumes the ones a request triggers."""

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
            return [Fault(f.kind, f.count, f.status, f.seconds, f.endpoint) for f in self._faults]

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
            self._faults = [fault for fault in self._faults if fault.count >= 0]
        return fired

    def take(self, endpoint: str) -> list[Fault]:
        """The response faults that apply to one authenticated request, each counted down."""
        fired: list[Fault] = []
        with self._lock:
            for fault in self._faults:
                if fault.kind == "expire_tokens_after" or fault.endpoint not in (None, endpoint):
                    continue
                if fault.count > 0:
                    fault.count -= 1
                    fired.append(fault)
            self._faults = [
                fault
                for fault in self._faults
                if fault.count > 0 or (fault.kind == "expire_tokens_after" and fault.count >= 0)
            ]
        return fired
