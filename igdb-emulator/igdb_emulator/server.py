"""The emulator: a real HTTP/1.1 server on loopback answering like IGDB v4 and Twitch OAuth.

Routes: `POST /oauth2/token`, `POST /v4/{endpoint}`, `POST /v4/{endpoint}/count`,
`POST /v4/multiquery`, and the unauthenticated admin API under `/_emulator/`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from typing_extensions import override

from igdb_emulator.apicalypse import ApicalypseError, Query, parse_multiquery, parse_query
from igdb_emulator.auth import TokenError, TokenRegistry
from igdb_emulator.changes import (
    DayChange,
    advance_day,
    change_during_read,
    check_change,
    one_day,
)
from igdb_emulator.dataset import Dataset
from igdb_emulator.drift import reshape, reshape_blobs
from igdb_emulator.entities import ENTITIES
from igdb_emulator.faults import Fault, FaultQueue, HeldRequest, HeldRequests
from igdb_emulator.latency import LatencyModel
from igdb_emulator.limits import RequestLimiter
from igdb_emulator.query import count, execute
from igdb_emulator.records import Record, decode, encode

MAX_MULTIQUERY_BLOCKS = 10

AUTH_FAILURE = {
    "message": "Authorization Failure. Have you tried:",
    "Tip 1": "Ensure you are sending Authorization and Client-ID as headers.",
    "Tip 2": "Ensure Authorization value starts with 'Bearer ', including the space",
    "Tip 3": "Ensure Authorization is a valid access token, not your client secret",
}
TOO_MANY_REQUESTS = {"message": "Too Many Requests"}
TOO_MANY_QUERIES = {
    "title": "Too Many Concurrent queries",
    "details": "The maximum amount of concurrent request is at 10 queries",
}


@dataclass
class EmulatorConfig:
    """Limits, latency and credentials. The defaults are IGDB's own limits."""

    requests_per_second: float | None = 4.0
    max_open_requests: int | None = 8
    response_cap_bytes: int = 10 * 1024 * 1024
    latency: LatencyModel = field(default_factory=LatencyModel.none)
    client_id: str = "emulator-client-id"
    client_secret: str = field(default="emulator-client-secret", repr=False)
    token_ttl_seconds: int = 5_587_808
    host: str = "127.0.0.1"
    port: int = 0

    @classmethod
    def unthrottled(cls, **overrides: Any) -> EmulatorConfig:
        return cls(**{"requests_per_second": None, "max_open_requests": None, **overrides})


@dataclass(frozen=True)
class LoggedRequest:
    """One API request as the emulator saw it (secrets redacted)."""

    time: float  # wall-clock start, unix seconds
    endpoint: str  # "oauth2/token", "games", "games/count", "multiquery", ...
    body: str
    status: int
    duration: float  # seconds, including emulated latency


@dataclass
class _Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    records: list[int] = field(default_factory=list)  # records per query, for latency
    # The pages of whole records it served: (endpoint, encoded records).
    pages: list[tuple[str, list[bytes]]] = field(default_factory=list)


class EmulatorFaults:
    """`emu.faults`: add or clear faults; revoking tokens takes effect at once; the
    requests `hold` faults hold are watched and released here."""

    def __init__(
        self, queue: FaultQueue, tokens: TokenRegistry, dataset: Dataset, holds: HeldRequests
    ) -> None:
        self._queue = queue
        self._tokens = tokens
        self._dataset = dataset
        self._holds = holds

    def add(self, fault: Fault) -> None:
        """Queue `fault`; ValueError now for a change the dataset could not take later."""
        if fault.kind == "revoke_tokens":
            self._tokens.revoke_all()
            return
        if fault.kind == "change_during_read":
            check_change(self._dataset, str(fault.endpoint), fault.changed, fault.ids)
        self._queue.add(fault)

    def clear(self) -> None:
        """No fault left: pending ones dropped, held requests released."""
        self._queue.clear()
        self._holds.release()

    def pending(self) -> list[Fault]:
        return self._queue.pending()

    def held(self) -> list[HeldRequest]:
        """The requests held now, in arrival order."""
        return self._holds.held()

    def wait_held(self, count: int = 1, timeout: float | None = None) -> bool:
        """Block until `count` requests in all have been held; False after `timeout` s."""
        return self._holds.wait(count, timeout)

    def release(self) -> int:
        """Let every request held now be handled; how many were held."""
        return self._holds.release()


class Emulator:
    """An IGDB v4 server over a Dataset; a context manager that starts and stops it."""

    def __init__(
        self, dataset: Dataset | None = None, config: EmulatorConfig | None = None
    ) -> None:
        self.dataset = dataset if dataset is not None else Dataset.samples()
        self.config = config or EmulatorConfig()
        self._tokens = TokenRegistry(
            self.config.client_id, self.config.client_secret, self.config.token_ttl_seconds
        )
        self._limiter = RequestLimiter(
            self.config.requests_per_second, self.config.max_open_requests
        )
        self._fault_queue = FaultQueue()
        self._holds = HeldRequests()
        self.faults = EmulatorFaults(self._fault_queue, self._tokens, self.dataset, self._holds)
        self._log: list[LoggedRequest] = []
        self._log_lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # lifecycle
    def start(self) -> Emulator:
        if self._server is not None:
            raise RuntimeError("emulator already started")
        self._stopping.clear()
        server = _Server((self.config.host, self.config.port), _Handler)
        server.emulator = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # addresses and credentials
    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("emulator not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/v4"

    @property
    def auth_url(self) -> str:
        return f"{self.base_url}/oauth2/token"

    @property
    def admin_url(self) -> str:
        return f"{self.base_url}/_emulator"

    @property
    def client_id(self) -> str:
        return self.config.client_id

    @property
    def client_secret(self) -> str:
        return self.config.client_secret

    @property
    def tokens_issued(self) -> int:
        return self._tokens.issued

    @property
    def open_connections(self) -> int:
        """Client connections the server holds now, idle keep-alive ones included."""
        return 0 if self._server is None else self._server.open_connections

    def issued_tokens(self) -> list[str]:
        """Every access token this emulator handed out (tests scan outputs for them)."""
        return self._tokens.history()

    # observation and control
    @property
    def request_log(self) -> list[LoggedRequest]:
        with self._log_lock:
            return list(self._log)

    def clear_request_log(self) -> None:
        with self._log_lock:
            self._log.clear()

    @property
    def now(self) -> int:
        return self.dataset.now

    def advance_day(
        self,
        changed: int = 0,
        added: int = 0,
        deleted: int = 0,
        endpoint: str = "games",
        seed: int = 0,
    ) -> DayChange:
        return advance_day(
            self.dataset, endpoint, changed=changed, added=added, deleted=deleted, seed=seed
        )

    def one_day(self, changes: dict[str, dict[str, int]], seed: int = 0) -> list[DayChange]:
        """One day of changes across endpoints (see `changes.one_day`)."""
        return one_day(self.dataset, changes, seed=seed)

    def count(self, endpoint: str) -> int:
        """How many records the source holds now at `endpoint` (no record decoded)."""
        if endpoint not in ENTITIES:
            raise KeyError(f"unknown endpoint {endpoint!r}")
        return len(self.dataset.table(endpoint).snapshot.ids)

    def truth(self, endpoint: str) -> list[Record]:
        """What the source holds now, as `fields *` returns it, sorted by id."""
        if endpoint not in ENTITIES:
            raise KeyError(f"unknown endpoint {endpoint!r}")
        drift = self._fault_queue.drift(endpoint)
        return [reshape(r, drift, whole=True) for r in self.dataset.table(endpoint).records()]

    # request handling (called from handler threads)
    def _record(self, entry: LoggedRequest) -> None:
        with self._log_lock:
            self._log.append(entry)

    def _token(self, query: str, body: str) -> _Response:
        params = dict(urllib.parse.parse_qsl(query))
        params.update(urllib.parse.parse_qsl(body))
        try:
            token = self._tokens.issue(
                params.get("client_id", ""),
                params.get("client_secret", ""),
                params.get("grant_type", ""),
            )
        except TokenError as error:
            return _json(error.status, {"status": error.status, "message": error.message})
        payload = {
            "access_token": token,
            "expires_in": self.config.token_ttl_seconds,
            "token_type": "bearer",
        }
        return _json(200, payload)

    def _api(
        self, path: str, headers: dict[str, str], body: str, hung_up: Callable[[], bool]
    ) -> _Response:
        endpoint = path.removeprefix("/v4/").strip("/")
        if self._fault_queue.take_hold(endpoint):
            self._holds.hold(
                HeldRequest(endpoint, body), lambda: hung_up() or self._stopping.is_set()
            )
        if self._fault_queue.expired(endpoint):
            self._tokens.revoke_all()
        authorization = headers.get("authorization", "")
        token = authorization[7:] if authorization[:7].lower() == "bearer " else None
        if not self._tokens.valid(headers.get("client-id"), token):
            return _json(401, AUTH_FAILURE)
        if not self._limiter.try_acquire():
            return _json(429, TOO_MANY_REQUESTS)
        try:
            faults = self._fault_queue.take(endpoint)
            response = self._faulted(faults) or self._answer(endpoint, body)
            if response.status == 200:
                # Before this answer leaves: the client's next request sees the change.
                paged = [endpoint for endpoint, _ in response.pages]
                for change in self._fault_queue.answered(paged):
                    self._change_during_read(change, response.pages)
            if len(response.body) > self.config.response_cap_bytes and response.status == 200:
                response = _json(
                    413,
                    [
                        {
                            "title": "Payload Too Large",
                            "status": 413,
                            "cause": "Response exceeds 10MB limit.",
                        }
                    ],
                )
            response.body = _corrupt(response.body, faults)
            delay = self.config.latency.delay(response.records)
            delay += sum(fault.seconds for fault in faults if fault.kind == "slow")
            if delay > 0:
                self._stopping.wait(delay)
            return response
        finally:
            self._limiter.release()

    def _change_during_read(self, fault: Fault, pages: list[tuple[str, list[bytes]]]) -> None:
        served = [
            decode(blob)["id"]
            for endpoint, blobs in pages
            if endpoint == fault.endpoint
            for blob in blobs
        ]
        change_during_read(
            self.dataset,
            str(fault.endpoint),
            changed=fault.changed,
            added=fault.added,
            seconds=max(1, int(fault.seconds)),
            seed=fault.seed,
            ids=fault.ids,
            served=served,
        )

    def _served(self, endpoint: str, query: Query) -> list[bytes]:
        """The query's records as the source serves them now (schema drift included)."""
        table = self.dataset.table(endpoint)
        blobs = execute(query, table.snapshot, table.entity)
        return reshape_blobs(blobs, self._fault_queue.drift(endpoint), whole=_whole(query))

    @staticmethod
    def _faulted(faults: list[Fault]) -> _Response | None:
        for fault in faults:
            if fault.kind == "rate_limit":
                return _json(429, TOO_MANY_REQUESTS)
            if fault.kind == "server_error":
                return _text(fault.status, _REASONS.get(fault.status, "Server Error"))
        return None

    def _answer(self, endpoint: str, body: str) -> _Response:
        try:
            if endpoint == "multiquery":
                return self._multiquery(body)
            counting = endpoint.endswith("/count")
            name = endpoint.removesuffix("/count")
            if name not in ENTITIES:
                return _text(404, f"Endpoint POST /{endpoint} not found")
            query = parse_query(body)
            table = self.dataset.table(name)
            if counting:
                return _json(200, {"count": count(query, table.snapshot, table.entity)})
            blobs = self._served(name, query)
            pages = [(name, blobs)] if _whole(query) else []
            return _Response(200, b"[" + b",".join(blobs) + b"]", records=[len(blobs)], pages=pages)
        except ApicalypseError as error:
            return _query_error(error)

    def _multiquery(self, body: str) -> _Response:
        blocks = parse_multiquery(body)
        if len(blocks) > MAX_MULTIQUERY_BLOCKS:
            return _json(400, TOO_MANY_QUERIES)
        parts: list[bytes] = []
        records: list[int] = []
        pages: list[tuple[str, list[bytes]]] = []
        for block in blocks:
            if block.endpoint not in ENTITIES:
                suffix = "/count" if block.count else ""
                return _text(404, f"Endpoint POST /{block.endpoint}{suffix} not found")
            table = self.dataset.table(block.endpoint)
            name = encode(block.name)
            if block.count:
                total = count(block.query, table.snapshot, table.entity)
                parts.append(b'{"name":' + name + b',"count":' + str(total).encode() + b"}")
                records.append(0)
            else:
                blobs = self._served(block.endpoint, block.query)
                parts.append(b'{"name":' + name + b',"result":[' + b",".join(blobs) + b"]}")
                records.append(len(blobs))
                if _whole(block.query):
                    pages.append((block.endpoint, blobs))
        return _Response(200, b"[" + b",".join(parts) + b"]", records=records, pages=pages)

    def _admin_table(self, route: str) -> _Response:
        """`count/{endpoint}` (how many records) or `truth/{endpoint}` (them, as JSONL)."""
        kind, endpoint = route.split("/", 1)
        if kind == "count":
            return _json(200, {"count": self.count(endpoint)})
        lines = b"".join(encode(record) + b"\n" for record in self.truth(endpoint))
        return _Response(200, lines, content_type="application/x-ndjson")

    def _admin(self, method: str, path: str, body: bytes) -> _Response:  # noqa: PLR0911
        route = path.removeprefix("/_emulator/").strip("/")
        try:
            if method == "GET" and route == "health":
                return _json(
                    200, {"status": "ok", "dataset": self.dataset.description, "now": self.now}
                )
            if method == "POST" and route == "advance-day":
                change = self.advance_day(**_advance_day_spec(body))
                return _json(200, change.as_json())
            if method == "POST" and route == "one-day":
                spec = _json_object(body)
                done = self.one_day(spec.get("changes", {}), int(spec.get("seed", 0)))
                return _json(200, [change.as_json() for change in done])
            if route == "faults" and method == "POST":
                self.faults.add(Fault.from_spec(_json_object(body)))
                return _json(200, {"pending": [asdict(f) for f in self.faults.pending()]})
            if route == "faults" and method == "DELETE":
                self.faults.clear()
                return _json(200, {"pending": []})
            if route == "held" and method == "GET":
                return _json(200, {"held": [asdict(held) for held in self.faults.held()]})
            if route == "release" and method == "POST":
                return _json(200, {"released": self.faults.release()})
            if route == "requests" and method == "GET":
                return _json(200, [asdict(entry) for entry in self.request_log])
            if route == "requests" and method == "DELETE":
                self.clear_request_log()
                return _json(200, {"cleared": True})
            if method == "GET" and route.startswith(("count/", "truth/")):
                return self._admin_table(route)
        except (ValueError, TypeError, KeyError) as error:
            return _json(400, {"error": str(error).strip("'\"")})
        return _json(404, {"error": f"no admin route {method} /_emulator/{route}"})


_REASONS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _whole(query: Query) -> bool:
    """Whether the query asks for whole records (`fields *`): a page, not a probe."""
    return query.fields == ("*",) and not query.exclude


def _json(status: int, payload: object) -> _Response:
    return _Response(status, encode(payload))


def _text(status: int, message: str) -> _Response:
    return _Response(status, message.encode(), content_type="text/plain")


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body or b"{}")
    except json.JSONDecodeError as error:
        raise ValueError(f"request body is not JSON: {error.msg}") from None
    if not isinstance(payload, dict):
        raise TypeError("request body must be a JSON object")
    return payload


def _advance_day_spec(body: bytes) -> dict[str, Any]:
    spec = _json_object(body)
    unknown = set(spec) - {"changed", "added", "deleted", "endpoint", "seed"}
    if unknown:
        raise ValueError(f"unknown advance-day fields: {sorted(unknown)}")
    return spec


def _query_error(error: ApicalypseError) -> _Response:
    if error.kind == "limit":
        return _json(403, [{"title": "Request limit to high", "status": 403, "cause": error.cause}])
    if error.kind == "invalid_field":
        return _json(400, [{"title": "Invalid Field", "status": 400, "cause": error.cause}])
    return _json(400, [{"title": "Syntax Error", "status": 400}])


def _corrupt(body: bytes, faults: list[Fault]) -> bytes:
    for fault in faults:
        if fault.kind == "truncated_json":
            body = body[: max(1, len(body) // 2)]
        elif fault.kind == "invalid_json":
            body = b'[{"id": 1,, "name": }' + body[1:]
    return body


def _redacted(body: str) -> str:
    pairs = urllib.parse.parse_qsl(body, keep_blank_values=True)
    return urllib.parse.urlencode(
        [(key, "REDACTED" if key == "client_secret" else value) for key, value in pairs]
    )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    emulator: Emulator

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    @override
    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    @override
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (its request timed out, it was killed) is not our error."""
        if isinstance(sys.exc_info()[1], ConnectionResetError | BrokenPipeError):
            return
        super().handle_error(request, client_address)

    @override
    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    @property
    def open_connections(self) -> int:
        with self._connections_lock:
            return len(self._connections)

    def close_connections(self) -> None:
        """Wake handler threads blocked on idle keep-alive connections so they exit."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as IGDB
    server_version = "igdb-emulator"
    sys_version = ""
    server: _Server

    @override
    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default access log: its request lines carry query-string secrets."""

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _hung_up(self) -> bool:
        """Whether the client closed its connection (it timed out, or was killed)."""
        try:
            waiting: bytes = self.connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:  # connected, nothing sent
            return False
        except OSError:  # reset
            return True
        return not waiting  # b"": end of stream

    def _send(self, response: _Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    def _dispatch(self, method: str) -> None:
        emulator = self.server.emulator
        started_wall, started = time.time(), time.monotonic()
        url = urllib.parse.urlsplit(self.path)
        body = self._read_body()
        if url.path.startswith("/_emulator/"):
            if not ipaddress.ip_address(self.client_address[0]).is_loopback:
                self._send(_json(403, {"error": "the admin API answers loopback clients only"}))
            else:
                self._send(emulator._admin(method, url.path, body))
            return
        text = body.decode("utf-8", errors="replace")
        if method == "POST" and url.path == "/oauth2/token":
            response = emulator._token(url.query, text)
            logged_endpoint, logged_body = "oauth2/token", _redacted(text)
        elif method == "POST" and url.path.startswith("/v4/"):
            headers = {key.lower(): value for key, value in self.headers.items()}
            response = emulator._api(url.path, headers, text, self._hung_up)
            logged_endpoint, logged_body = url.path.removeprefix("/v4/").strip("/"), text
        else:
            response = _text(404, f"Endpoint {method} {url.path} not found")
            logged_endpoint, logged_body = url.path.lstrip("/"), text
        # Logged before the reply is written, so a client that has its answer finds the entry.
        emulator._record(
            LoggedRequest(
                started_wall,
                logged_endpoint,
                logged_body,
                response.status,
                time.monotonic() - started,
            )
        )
        self._send(response)

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")
