"""Twitch client-credentials tokens: issue, validate, cap at 25 live tokens per client."""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict

MAX_LIVE_TOKENS = 25


class TokenError(Exception):
    """A token request Twitch refuses: `status` 400 (unknown client) or 403 (bad secret)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class TokenRegistry:
    def __init__(self, client_id: str, client_secret: str, ttl_seconds: int) -> None:
        self.client_id = client_id
        self._client_secret = client_secret
        self.ttl_seconds = ttl_seconds
        self._live: OrderedDict[str, float] = OrderedDict()  # token -> expiry (monotonic)
        self._lock = threading.Lock()
        self._history: list[str] = []  # every token ever issued, for secret-scanning tests

    def issue(self, client_id: str, client_secret: str, grant_type: str) -> str:
        if client_id != self.client_id:
            raise TokenError(400, "invalid client")
        if not secrets.compare_digest(client_secret, self._client_secret):
            raise TokenError(403, "invalid client secret")
        if grant_type != "client_credentials":
            raise TokenError(400, "unsupported grant type")
        token = secrets.token_hex(15)
        with self._lock:
            self._live[token] = time.monotonic() + self.ttl_seconds
            while len(self._live) > MAX_LIVE_TOKENS:
                self._live.popitem(last=False)  # a 26th token silently invalidates the oldest
            self._history.append(token)
        return token

    def valid(self, client_id: str | None, token: str | None) -> bool:
        if client_id != self.client_id or not token:
            return False
        with self._lock:
            expiry = self._live.get(token)
            if expiry is None:
                return False
            if expiry <= time.monotonic():
                del self._live[token]
                return False
            return True

    @property
    def issued(self) -> int:
        with self._lock:
            return len(self._history)

    def history(self) -> list[str]:
        with self._lock:
            return list(self._history)

    def revoke_all(self) -> None:
        with self._lock:
            self._live.clear()

    @property
    def live(self) -> int:
        with self._lock:
            return len(self._live)
