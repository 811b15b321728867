"""Test helpers: a tiny keep-alive HTTP client for talking to an emulator over real sockets."""

from __future__ import annotations

import http.client
import json
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from igdb_emulator import Emulator

pytest_plugins = ["igdb_emulator.pytest_plugin"]


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:  # decoded JSON: its shape is what each test asserts
        return json.loads(self.body)


class Client:
    """Speaks to one emulator: fetches a token once, then POSTs Apicalypse bodies."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        url = urllib.parse.urlsplit(emulator.base_url)
        self.connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=30)
        self.token: str | None = None

    def request(
        self, method: str, path: str, body: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> Reply:
        self.connection.request(method, path, body=body, headers=headers or {})
        response = self.connection.getresponse()
        payload = response.read()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, payload)

    def fetch_token(self, client_id: str | None = None, secret: str | None = None) -> Reply:
        query = urllib.parse.urlencode(
            {
                "client_id": client_id or self.emulator.client_id,
                "client_secret": secret or self.emulator.client_secret,
                "grant_type": "client_credentials",
            }
        )
        return self.request("POST", f"/oauth2/token?{query}")

    def login(self) -> str:
        reply = self.fetch_token()
        assert reply.status == 200, reply.body
        token: str = reply.json()["access_token"]
        self.token = token
        return token

    def api(self, endpoint: str, body: str, token: str | None = None) -> Reply:
        token = token or self.token or self.login()
        headers = {"Client-ID": self.emulator.client_id, "Authorization": f"Bearer {token}"}
        return self.request("POST", f"/v4/{endpoint}", body.encode(), headers)

    def admin(self, method: str, route: str, payload: object | None = None) -> Reply:
        body = json.dumps(payload).encode() if payload is not None else b""
        return self.request(method, f"/_emulator/{route}", body)

    def close(self) -> None:
        self.connection.close()


# The `connect` fixture's type. Test modules import it under TYPE_CHECKING only: at run
# time (--import-mode=importlib) `import conftest` finds the repository root's conftest.py.
Connect = Callable[[Emulator], Client]


@pytest.fixture
def connect() -> Iterator[Connect]:
    """`connect(emulator) -> Client`; every client is closed at teardown."""
    clients: list[Client] = []

    def make(emulator: Emulator) -> Client:
        client = Client(emulator)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
