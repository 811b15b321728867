"""The S3 fault proxy: forwards S3 byte for byte, and refuses requests exactly when told."""

from __future__ import annotations

import http.client
import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.exceptions import BotoCoreError, ConnectionClosedError
from seaweedfs_fixture import S3FaultProxy, SeaweedFS
from typing_extensions import override


@pytest.fixture
def proxy(s3_fault_proxy: S3FaultProxy) -> S3FaultProxy:
    return s3_fault_proxy


def keys_and_verdicts(proxy: S3FaultProxy) -> list[tuple[str, str, bool]]:
    return [(seen.method, seen.key, seen.refused) for seen in proxy.requests]


def test_requests_pass_through_unchanged_and_are_recorded(
    seaweedfs: SeaweedFS, s3_bucket: str, proxy: S3FaultProxy
) -> None:
    client = seaweedfs.client(endpoint_url=proxy.endpoint_url)
    body = bytes(range(256)) * 4096  # 1 MiB: sent after the server's 100 Continue

    client.upload_fileobj(io.BytesIO(body), s3_bucket, "raw/a b.bin")
    client.put_object(Bucket=s3_bucket, Key="raw/small.json", Body=b"{}")
    read = client.get_object(Bucket=s3_bucket, Key="raw/a b.bin")["Body"].read()
    listed = client.list_objects_v2(Bucket=s3_bucket, Prefix="raw/")["Contents"]

    assert read == body
    assert [item["Key"] for item in listed] == ["raw/a b.bin", "raw/small.json"]
    assert keys_and_verdicts(proxy) == [
        ("PUT", "raw/a b.bin", False),
        ("PUT", "raw/small.json", False),
        ("GET", "raw/a b.bin", False),
        ("GET", "", False),
    ]
    assert {seen.bucket for seen in proxy.requests} == {s3_bucket}


def test_the_outage_starts_at_the_matching_request_and_ends_after_its_refusals(
    seaweedfs: SeaweedFS, s3_bucket: str, proxy: S3FaultProxy
) -> None:
    client = seaweedfs.client(endpoint_url=proxy.endpoint_url, max_attempts=0)  # no retry
    proxy.fail_from("PUT", key=r"^raw/batch-", after=1, refusals=2)

    client.put_object(Bucket=s3_bucket, Key="raw/other", Body=b"not matching")
    client.put_object(Bucket=s3_bucket, Key="raw/batch-1", Body=b"passes")
    assert not proxy.failing
    with pytest.raises(ConnectionClosedError):
        client.put_object(Bucket=s3_bucket, Key="raw/batch-2", Body=b"refused")
    assert proxy.failing
    with pytest.raises(BotoCoreError):  # any request while the server is "down"
        client.get_object(Bucket=s3_bucket, Key="raw/other")
    client.put_object(Bucket=s3_bucket, Key="raw/batch-2", Body=b"healed")

    assert not proxy.failing
    assert keys_and_verdicts(proxy) == [
        ("PUT", "raw/other", False),
        ("PUT", "raw/batch-1", False),
        ("PUT", "raw/batch-2", True),
        ("GET", "raw/other", True),
        ("PUT", "raw/batch-2", False),
    ]
    assert client.get_object(Bucket=s3_bucket, Key="raw/batch-2")["Body"].read() == b"healed"


def test_without_a_refusal_count_the_outage_lasts_until_healed_and_counts_every_attempt(
    seaweedfs: SeaweedFS, s3_bucket: str, proxy: S3FaultProxy
) -> None:
    client = seaweedfs.client(endpoint_url=proxy.endpoint_url, max_attempts=2)
    proxy.fail_from("PUT", key=r"^raw/")

    with pytest.raises(ConnectionClosedError):
        client.put_object(Bucket=s3_bucket, Key="raw/x", Body=b"never stored")
    refused = proxy.wait_refused(3, timeout=1)
    proxy.heal()
    client.put_object(Bucket=s3_bucket, Key="raw/x", Body=b"stored")

    # botocore's legacy max_attempts counts retries: the first attempt and 2 retries.
    assert [(seen.method, seen.key) for seen in refused] == [("PUT", "raw/x")] * 3
    assert client.get_object(Bucket=s3_bucket, Key="raw/x")["Body"].read() == b"stored"


def test_a_client_that_retries_rides_out_fewer_refusals_than_its_retries(
    seaweedfs: SeaweedFS, s3_bucket: str, proxy: S3FaultProxy
) -> None:
    client = seaweedfs.client(endpoint_url=proxy.endpoint_url, max_attempts=3)
    proxy.fail_from("PUT", key=r"^raw/", refusals=2)

    client.put_object(Bucket=s3_bucket, Key="raw/y", Body=b"after two refusals")

    assert keys_and_verdicts(proxy) == [("PUT", "raw/y", True)] * 2 + [("PUT", "raw/y", False)]


def test_waiting_for_refusals_that_never_come_fails_with_a_count(proxy: S3FaultProxy) -> None:
    proxy.fail_from("PUT", key=r"^raw/")

    with pytest.raises(AssertionError, match=r"0 of 1 requests refused within 0\.1 s"):
        proxy.wait_refused(1, timeout=0.1)


class _Echo(BaseHTTPRequestHandler):
    """Answers each request with its body as the server decoded it (chunked or not)."""

    protocol_version = "HTTP/1.1"

    def do_PUT(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", ""):
            body = b""
            while size := int(self.rfile.readline().split(b";")[0], 16):
                body += self.rfile.read(size)
                self.rfile.readline()
            while self.rfile.readline() != b"\r\n":  # trailers
                pass
        else:
            body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    @override
    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


def test_chunked_and_sized_bodies_on_one_keep_alive_connection_are_framed_right() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with S3FaultProxy(f"http://127.0.0.1:{server.server_address[1]}") as proxy:
            port = int(proxy.endpoint_url.rsplit(":", 1)[1])
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            answers = []
            for path, body, chunked in [
                ("/b/chunked", [b"ab", b"c" * 70_000, b"d"], True),
                ("/b/sized", [b"0123456789"], False),
                ("/b/again", [b"x"], True),
            ]:
                connection.request("PUT", path, body=iter(body), encode_chunked=chunked,
                                   headers={} if chunked else {"Content-Length": "10"})  # fmt: skip
                answers.append(connection.getresponse().read())
            connection.close()
    finally:
        server.shutdown()
        server.server_close()

    assert answers == [b"ab" + b"c" * 70_000 + b"d", b"0123456789", b"x"]
    assert [seen.key for seen in proxy.requests] == ["chunked", "sized", "again"]
