"""The run's HTTP session, whose connections call hooks around writing a request.

IGDB counts a request against its rate limit when the request reaches it, so the
limiter (limiter.py) keeps its window at the socket: `with around_send(before, after):
send` calls `before()` just before a request is written (the limiter waits there until
it may go) and `after()` once it has been.
"""

from __future__ import annotations

import threading
import typing as t
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_hooks = threading.local()


@contextmanager
def around_send(before: Callable[[], None], after: Callable[[], None]) -> Iterator[None]:
    """Call `before` and `after` around each request this thread writes to a socket."""
    _hooks.before, _hooks.after = before, after
    try:
        yield
    finally:
        _hooks.before = _hooks.after = None


def _hook(name: str) -> None:
    hook = getattr(_hooks, name, None)
    if hook is not None:
        hook()


class _HTTPConnection(HTTPConnection):
    def request(self, *args: t.Any, **kwargs: t.Any) -> None:
        _hook("before")
        super().request(*args, **kwargs)
        _hook("after")


class _HTTPSConnection(HTTPSConnection):
    def request(self, *args: t.Any, **kwargs: t.Any) -> None:
        _hook("before")
        super().request(*args, **kwargs)
        _hook("after")


class _HTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _Adapter(HTTPAdapter):
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
