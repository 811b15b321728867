"""Shared fixtures: a tiny scriptable HTTP server on 127.0.0.1 for unit tests.

Behaviour tests use the real IGDB emulator instead: its fixtures
(`igdb_emulator`, `igdb_emulator_factory`) are loaded below by name (no entry point).
Nothing else is needed from outside tap-igdb/ (no root conftest.py or tests/), so
`cd tap-igdb && ../.venv/bin/pytest` runs on its own.
"""

from __future__ import annotations

import contextlib
import io
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, TypeAlias

import pytest
from igdb_emulator import Emulator
from tap_igdb.errors import StreamsFailedError
from tap_igdb.tap import TapIGDB
from typing_extensions import override

pytest_plugins = ["igdb_emulator.pytest_plugin"]

JSONValue: TypeAlias = (
    Mapping[str, "JSONValue"] | Sequence["JSONValue"] | str | int | float | bool | None
)
"""What `json.dumps` encodes (read-only views, so plain dicts and lists of any JSON fit)."""

JSONObject: TypeAlias = dict[str, Any]
"""A parsed JSON object: a Singer message, a record, tap settings, a state."""


@dataclass
class Reply:
    status: int = 200
    body: bytes | JSONValue = b"[]"
    """bytes and str are sent as they are; anything else as JSON."""
    content_type: str = "application/json"

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


@dataclass
class Seen:
    path: str
    body: str
    headers: dict[str, str]


Handler: TypeAlias = Callable[[Seen], Reply]


@dataclass
class FakeServer:
    """Answers each POST with `handler(request)`; remembers every request."""

    url: str
    handler: Handler = field(default=lambda _: Reply())
    requests: list[Seen] = field(default_factory=list)
    api: Handler = field(default=lambda _: Reply())
    """Used by `fake_igdb` for every request except the token endpoint."""

    def paths(self) -> list[str]:
        return [seen.path for seen in self.requests]

    def api_requests(self) -> list[Seen]:
        return [seen for seen in self.requests if not seen.path.endswith("/oauth2/token")]

    @staticmethod
    def reply(
        status: int = 200, body: bytes | JSONValue = b"[]", content_type: str = "application/json"
    ) -> Reply:
        return Reply(status, body, content_type)


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    server_state: FakeServer

    class _Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            seen = Seen(
                path=self.path,
                body=self.rfile.read(length).decode(),
                headers=dict(self.headers.items()),
            )
            server_state.requests.append(seen)
            reply = server_state.handler(seen)
            payload = reply.payload()
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        @override
        def log_message(self, *args: object) -> None:  # keep pytest output quiet
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    server_state = FakeServer(url=f"http://127.0.0.1:{httpd.server_address[1]}")
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield server_state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture(scope="session")
def incremental_streams() -> set[str]:
    """The streams the tap reads incrementally on `updated_at`, as the SDK sees them."""
    tap = TapIGDB(config={"client_id": "placeholder", "client_secret": "placeholder"})
    return {name for name, stream in tap.streams.items() if stream.replication_key == "updated_at"}


# --- running the tap in-process ---------------------------------------------------------


@dataclass
class TapRun:
    """The Singer messages one sync wrote to stdout, parsed."""

    messages: list[JSONObject]
    failed: StreamsFailedError | None = None
    """Set when the run ended naming failed streams (`run_tap(..., failing=True)`)."""

    def of_type(self, message_type: str, stream: str | None = None) -> list[JSONObject]:
        return [
            m
            for m in self.messages
            if m["type"] == message_type and (stream is None or m.get("stream") == stream)
        ]

    def records(self, stream: str) -> list[JSONObject]:
        return [m["record"] for m in self.of_type("RECORD", stream)]

    @property
    def state(self) -> JSONObject:
        return dict(self.of_type("STATE")[-1]["value"])

    def bookmark(self, stream: str) -> int:
        """The stream's `updated_at` bookmark, which the contract says is an integer."""
        value = self.state["bookmarks"][stream].get("replication_key_value")
        assert type(value) is int, f"{stream}: bookmark {value!r} is not an integer"
        return value

    def streams_with_records(self) -> set[str]:
        return {m["stream"] for m in self.of_type("RECORD")}


class RunTap(Protocol):
    """The `run_tap` fixture's signature."""

    def __call__(
        self,
        config: JSONObject,
        *,
        streams: list[str] | None = None,
        state: JSONObject | None = None,
        clock: Callable[[], float] | None = None,
        failing: bool = False,
    ) -> TapRun: ...


@pytest.fixture(scope="session")
def run_tap() -> RunTap:
    """`run_tap(config, streams=[...], state=..., clock=..., failing=...)`: one in-process
    sync, messages parsed. `clock` is the tap's notion of now (the emulator's, in tests);
    `failing=True`: the run must end naming failed streams (`TapRun.failed`)."""

    def run(
        config: JSONObject,
        *,
        streams: list[str] | None = None,
        state: JSONObject | None = None,
        clock: Callable[[], float] | None = None,
        failing: bool = False,
    ) -> TapRun:
        tap = TapIGDB(config=config, state=state, clock=clock or time.time)
        if streams is not None:
            unknown = set(streams) - set(tap.streams)
            assert not unknown, f"no such streams: {unknown}"
            for name, stream in tap.streams.items():
                stream.selected = name in streams
        output = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
        failed = None
        with contextlib.redirect_stdout(output):
            try:
                tap.sync_all()
            except StreamsFailedError as exc:
                if not failing:
                    raise
                failed = exc
        assert failed is not None or not failing, "the run was expected to fail"
        output.flush()
        raw = output.buffer.getvalue().decode()
        messages = [json.loads(line) for line in raw.splitlines() if line.strip()]
        return TapRun(messages, failed)

    return run


FAST_RETRIES = {"backoff_base_ms": 50, "backoff_max_ms": 400}


class EmulatorSettings(Protocol):
    """The `emulator_config` fixture's signature."""

    def __call__(self, emulator: Emulator, **settings: object) -> JSONObject: ...


@pytest.fixture(scope="session")
def emulator_config() -> EmulatorSettings:
    """`emulator_config(emu, **settings)`: tap settings pointing at a running emulator."""

    def make(emulator: Emulator, **settings: object) -> JSONObject:
        return {
            "client_id": emulator.client_id,
            "client_secret": emulator.client_secret,
            "api_url": emulator.api_url,
            "auth_url": emulator.auth_url,
            **FAST_RETRIES,
            **settings,
        }

    return make


@pytest.fixture
def fake_igdb(fake_server: FakeServer) -> FakeServer:
    """The fake server answering the token endpoint; set `.api` to answer API requests."""

    def handler(seen: Seen) -> Reply:
        if seen.path.endswith("/oauth2/token"):
            return Reply(body={"access_token": "fake-token", "expires_in": 5_000_000})
        return fake_server.api(seen)

    fake_server.handler = handler
    return fake_server


@pytest.fixture
def fake_igdb_config(fake_igdb: FakeServer) -> JSONObject:
    return {
        "client_id": "fake-client",
        "client_secret": "fake-secret-value",
        "api_url": f"{fake_igdb.url}/v4",
        "auth_url": f"{fake_igdb.url}/oauth2/token",
        "requests_per_second": 100,
        "use_multiquery": False,
        **FAST_RETRIES,
    }
