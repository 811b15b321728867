"""An S3 outage that starts and ends when the test says: a fault proxy in front of S3.

`S3FaultProxy` listens on 127.0.0.1 and forwards every connection to the S3
server byte for byte (the requests stay signed for the server's address, as
the Host header is not touched). It reads each request's head as it passes,
so it knows which request of a keep-alive connection is which, and on the
test's command refuses requests by resetting the connection (the client
sees `Connection reset by peer`, as from a server that crashed mid-request):

    proxy.fail_from("PUT", key=r"^raw/games/batch-", after=1, refusals=3)

lets the first PUT whose key matches through, refuses the next one and every
request after it (any method, any key: the server is "down") until it has
refused 3 requests, then forwards again; with `refusals=None` it refuses
until `heal()`. The switch happens inside the proxy, at the request it
concerns, so no sleep or poll decides where the outage falls. Every request
seen is kept in `requests` (forwarded or refused), so a test counts the
client's attempts instead of assuming its retry policy.

Path-style addressing only (`/bucket/key`), as the fixture's clients use.
"""

from __future__ import annotations

import contextlib
import re
import socket
import struct
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass

MAX_HEAD_BYTES = 64 * 1024
CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class SeenRequest:
    """One request as the proxy saw its head."""

    method: str
    bucket: str
    key: str  # the object key, URL-decoded ("" for bucket-level requests)
    query: str
    refused: bool


@dataclass
class _Outage:
    """An armed fault: the trigger, then refusals until `remaining` runs out (None: healed only)."""

    method: str
    key: re.Pattern[str]
    passes: int  # matching requests still to forward before the outage starts
    remaining: int | None
    started: bool = False


class S3FaultProxy:
    """A threaded TCP proxy on 127.0.0.1 that refuses S3 requests on command.

    A context manager (or `start()` / `stop()`); `endpoint_url` is what the
    client under test is given instead of the server's.
    """

    def __init__(self, upstream_url: str) -> None:
        parts = urllib.parse.urlsplit(upstream_url)
        if parts.scheme != "http" or parts.hostname is None or parts.port is None:
            raise ValueError(f"upstream must be http://host:port, got {upstream_url!r}")
        self._upstream = (parts.hostname, parts.port)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._outage: _Outage | None = None
        self._seen: list[SeenRequest] = []
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None

    # lifecycle -------------------------------------------------------------

    def start(self) -> S3FaultProxy:
        if self._listener is not None:
            raise RuntimeError("proxy already started")
        listener = socket.create_server(("127.0.0.1", 0))
        self._listener = listener
        self._acceptor = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._acceptor.start()
        return self

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is None:
            return
        # shutdown() wakes the thread blocked in accept(); close() alone does not.
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            _close(sock)
        if self._acceptor is not None:
            self._acceptor.join(timeout=5)

    def __enter__(self) -> S3FaultProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def endpoint_url(self) -> str:
        if self._listener is None:
            raise RuntimeError("proxy not started")
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    # control ---------------------------------------------------------------

    def fail_from(
        self, method: str, key: str, *, after: int = 0, refusals: int | None = None
    ) -> None:
        """Forward `after` requests of `method` whose key matches the regex `key`, then refuse
        the next such request and every request after it, until `refusals` have been
        refused (None: until `heal()`)."""
        if after < 0:
            raise ValueError(f"after must be >= 0, got {after}")
        if refusals is not None and refusals < 1:
            raise ValueError(f"refusals must be at least 1 (or None), got {refusals}")
        with self._changed:
            self._outage = _Outage(method.upper(), re.compile(key), after, refusals)
            self._changed.notify_all()

    def heal(self) -> None:
        """Forward every request from now on (an armed fault that has not started is dropped)."""
        with self._changed:
            self._outage = None
            self._changed.notify_all()

    @property
    def requests(self) -> list[SeenRequest]:
        """Every request seen so far, in the order their heads arrived."""
        with self._lock:
            return list(self._seen)

    @property
    def failing(self) -> bool:
        """Whether an outage has started and not ended."""
        with self._lock:
            return self._outage is not None and self._outage.started

    def refused(self) -> list[SeenRequest]:
        return [seen for seen in self.requests if seen.refused]

    def wait_refused(self, count: int, timeout: float) -> list[SeenRequest]:
        """Block until `count` requests have been refused; AssertionError after `timeout` s."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(refused := [seen for seen in self._seen if seen.refused]) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"{len(refused)} of {count} requests refused within {timeout} s"
                self._changed.wait(left)
            return refused

    # the proxy ---------------------------------------------------------------

    def _decide(self, method: str, bucket: str, key: str, query: str) -> bool:
        """Record one request head; True when it is to be refused."""
        with self._changed:
            outage = self._outage
            refuse = False
            triggers = outage is not None and method == outage.method and outage.key.search(key)
            if outage is not None and triggers and not outage.started:
                if outage.passes == 0:
                    outage.started = True
                else:
                    outage.passes -= 1
            if outage is not None and outage.started:
                refuse = True
                if outage.remaining is not None:
                    outage.remaining -= 1
                    if outage.remaining == 0:
                        self._outage = None
            self._seen.append(SeenRequest(method, bucket, key, query, refuse))
            self._changed.notify_all()
            return refuse

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # the listener was closed: stop()
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def _forget(self, *socks: socket.socket) -> None:
        with self._lock:
            for sock in socks:
                self._sockets.discard(sock)
        for sock in socks:
            _close(sock)

    def _serve(self, client: socket.socket) -> None:
        """One client connection: its requests upstream, the answers back as they come."""
        self._track(client)
        try:
            upstream = socket.create_connection(self._upstream, timeout=30)
        except OSError:
            _reset(client)
            self._forget(client)
            return
        upstream.settimeout(None)
        self._track(upstream)
        answers = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
        answers.start()
        try:
            self._forward_requests(_Reader(client), upstream)
        except OSError:
            pass  # either side went away: the connection ends
        finally:
            self._forget(client, upstream)
            answers.join(timeout=5)

    def _forward_requests(self, reader: _Reader, upstream: socket.socket) -> None:
        while True:
            head = reader.head()
            if head is None:  # the client closed its connection between requests
                return
            method, target, headers = _parse_head(head)
            path, _, query = target.partition("?")
            bucket, _, key = urllib.parse.unquote(path.lstrip("/")).partition("/")
            if self._decide(method, bucket, key, query):
                _reset(reader.sock)
                return
            upstream.sendall(head)
            for piece in _body(reader, headers):
                upstream.sendall(piece)


class _Reader:
    """Buffered reads from a socket: a request head, then body bytes."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buffer = b""

    def _fill(self) -> bool:
        data = self.sock.recv(CHUNK_BYTES)
        self._buffer += data
        return bool(data)

    def head(self) -> bytes | None:
        while b"\r\n\r\n" not in self._buffer:
            if len(self._buffer) > MAX_HEAD_BYTES:
                raise OSError("request head too large")
            if not self._fill():
                if self._buffer:
                    raise OSError("connection closed inside a request head")
                return None
        end = self._buffer.index(b"\r\n\r\n") + 4
        head, self._buffer = self._buffer[:end], self._buffer[end:]
        return head

    def line(self) -> bytes:
        while b"\r\n" not in self._buffer:
            if not self._fill():
                raise OSError("connection closed inside a chunked body")
        end = self._buffer.index(b"\r\n") + 2
        line, self._buffer = self._buffer[:end], self._buffer[end:]
        return line

    def exactly(self, count: int) -> Iterator[bytes]:
        while count > 0:
            if not self._buffer and not self._fill():
                raise OSError("connection closed inside a request body")
            piece, self._buffer = self._buffer[:count], self._buffer[count:]
            count -= len(piece)
            yield piece


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return method.upper(), target, headers


def _body(reader: _Reader, headers: dict[str, str]) -> Iterator[bytes]:
    """The request body's raw bytes as they arrive, framed as its headers say (RFC 9112, 6)."""
    if "chunked" not in headers.get("transfer-encoding", "").lower():
        yield from reader.exactly(int(headers.get("content-length", "0")))
        return
    while True:
        size_line = reader.line()
        yield size_line
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while (trailer := reader.line()) != b"\r\n":
                yield trailer
            yield trailer
            return
        yield from reader.exactly(size + 2)  # the data and its CRLF


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy `source` to `sink` until either side closes."""
    try:
        while data := source.recv(CHUNK_BYTES):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def _reset(sock: socket.socket) -> None:
    """Close with an RST instead of a FIN (no shutdown first, which would send the FIN):
    the peer's next read or write fails with ECONNRESET."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
