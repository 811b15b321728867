"""The run's HTTP session, whose connections say when a request has really been sent.

IGDB counts a request against its rate limit when the request reaches it. The
limiter (limiter.py) spaces starts; a thread that is starved between its start and
its send (the GIL, a busy machine) reaches IGDB late, and the next start, spaced from
the earlier time, may then reach it within the same second. So each start is dated
again once the request is written to the socket: `with when_sent(callback): send`.
"""

from __future__ import annotations

import threading
import typing as t
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import requests
from requests.adapters import HTTPAdapter
from typing_extensions import override
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_hooks = threading.local()


@contextmanager
def when_sent(callback: Callable[[], None]) -> Iterator[None]:
    """Call `callback` each time this thread writes a request to a socket."""
    _hooks.sent = callback
    try:
        yield
    finally:
        _hooks.sent = None


def _sent() -> None:
    callback = getattr(_hooks, "sent", None)
    if callback is not None:
        callback()


class _HTTPConnection(HTTPConnection):
    @override
    def request(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().request(*args, **kwargs)
        _sent()


class _HTTPSConnection(HTTPSConnection):
    @override
    def request(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().request(*args, **kwargs)
        _sent()


class _HTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _Adapter(HTTPAdapter):
    @override
    def init_poolmanager(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _HTTPConnectionPool,
            "https": _HTTPSConnectionPool,
        }


def new_session(pool_size: int) -> requests.Session:
    """A session keeping up to `pool_size` connections alive per host."""
    session = requests.Session()
    adapter = _Adapter(pool_maxsize=pool_size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
