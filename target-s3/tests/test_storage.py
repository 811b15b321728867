"""What readers of the lake use: listing keys, a plain write, and every manifest."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from target_s3 import lake as contract
from target_s3.manifest_store import read_manifests
from target_s3.storage import S3Settings, S3Storage, StorageError
from typing_extensions import override


def test_keys_are_listed_by_prefix_in_order(lake: Any) -> None:
    storage = lake.storage()
    for key in ("raw/games/b.json", "raw/games/a.json", "raw/gamesx/c.json", "marts/d.json"):
        storage.write(key, b"{}")

    assert storage.list_keys("raw/games") == [
        "raw/games/a.json",
        "raw/games/b.json",
        "raw/gamesx/c.json",
    ]
    assert storage.list_keys("raw/games/") == ["raw/games/a.json", "raw/games/b.json"]
    assert storage.list_keys("nothing/here/") == []


def test_a_plain_write_replaces_the_document_and_carries_no_status(lake: Any) -> None:
    storage = lake.storage()
    storage.write("marts/_runs/latest.json", b'{"run": 1}')
    storage.write("marts/_runs/latest.json", b'{"run": 2}')

    current = storage.read("marts/_runs/latest.json")
    assert current is not None
    assert current.body == b'{"run": 2}'
    assert lake.status("marts/_runs/latest.json") is None  # nothing for the lifecycle to expire


def test_every_manifest_of_both_layouts_is_read(lake: Any, singer: Any) -> None:
    lake.run(singer.lines("games_incremental.singer"))
    lake.run(singer.lines("genres_snapshot.singer", version=5))

    manifests = read_manifests(lake.storage(), "raw")

    assert [(m.stream, m.layout) for m in manifests] == [
        ("genres", "snapshot"),  # raw/dimensions/genres/ sorts before raw/games/
        ("games", "incremental"),
    ]
    assert [m.files[0].records for m in manifests] == [23, 100]
    assert read_manifests(lake.storage(), "elsewhere") == []


def test_a_file_being_written_is_not_listed(local_lake: Any) -> None:
    storage = local_lake.storage()
    storage.write("raw/games/a.json", b"{}")
    folder = local_lake.root / "raw" / "games"
    (folder / ".b.json.0123.tmp").write_bytes(b"half")  # as a writer leaves it mid-write

    assert storage.list_keys(contract.layer_folder("raw")) == ["raw/games/a.json"]


class _Unavailable(http.server.BaseHTTPRequestHandler):
    """Answers every request as S3 does when it sheds load: 503 SlowDown."""

    BODY = b"<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>"

    def _refuse(self) -> None:
        self.server.requests += 1  # type: ignore[attr-defined]  # the counting server below
        self.send_response(503)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(self.BODY)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(self.BODY)

    def do_GET(self) -> None:
        self._refuse()

    def do_PUT(self) -> None:
        self._refuse()

    @override
    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test counts the requests instead."""


@pytest.fixture
def unavailable_s3() -> Iterator[Any]:
    """A local HTTP server that refuses every S3 call with 503 and counts them."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Unavailable)
    server.requests = 0  # type: ignore[attr-defined]  # what the handler counts
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("max_retries", [0, 1, 3])
@pytest.mark.fault_matrix(
    fault="S3 answers every call with 503 SlowDown (max_retries {max_retries})",
    injected="a local HTTP server in place of S3, counting requests",
    outcome="fails loudly: one line naming the key and the retries spent",
    check="the server saw exactly max_retries + 1 attempts",
)
def test_a_failing_call_is_tried_exactly_max_retries_plus_one_times(
    unavailable_s3: Any, max_retries: int
) -> None:
    host, port = unavailable_s3.server_address
    settings = S3Settings(
        bucket="lake",
        endpoint_url=f"http://{host}:{port}",
        region="us-east-1",
        access_key_id="test-key",
        secret_access_key="test-secret",
        max_retries=max_retries,
    )
    storage = S3Storage(settings)

    with pytest.raises(StorageError) as raised:
        storage.read("raw/games/_manifest.json")

    assert unavailable_s3.requests == max_retries + 1
    retries = "1 retry" if max_retries == 1 else f"{max_retries} retries"
    assert f"gave up after {retries}" in str(raised.value)
    assert "s3://lake/raw/games/_manifest.json" in str(raised.value)
