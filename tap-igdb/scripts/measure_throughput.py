"""Measure the tap alone: records/s for `games` from a local server that costs ~nothing.

    .venv/bin/python tap-igdb/scripts/measure_throughput.py [GAMES]

The games come from the emulator's generator (`Dataset.generate`), but are served
pre-encoded by a minimal keyset server, so the number is the tap's own speed
(HTTP, decoding, the SDK's per-record work, msgspec output), not the server's.
Not a test: no timing is asserted anywhere.
"""

from __future__ import annotations

import bisect
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from igdb_emulator import Dataset, Emulator, EmulatorConfig
from typing_extensions import override

TAP = [sys.executable, "-m", "tap_igdb.tap"]


def number(pattern: str, body: str) -> int:
    """The integer `pattern` captures in a query body; the tap always sends both we read."""
    match = re.search(pattern, body)
    if match is None:
        raise ValueError(f"{pattern!r} not found in the query {body!r}")
    return int(match[1])


def serve(records: list[dict[str, Any]]) -> ThreadingHTTPServer:
    ids = [int(r["id"]) for r in records]
    encoded = [json.dumps(r).encode() for r in records]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            if self.path.endswith("/token"):
                payload = b'{"access_token": "t", "expires_in": 9999999}'
            elif self.path.endswith("/count"):
                payload = json.dumps({"count": len(ids)}).encode()
            elif "sort id desc" in body:
                payload = json.dumps([{"id": ids[-1]}]).encode()
            else:
                after = number(r"id > (-?\d+)", body)
                upto = re.search(r"id <= (\d+)", body)
                limit = number(r"limit (\d+)", body)
                start = bisect.bisect_right(ids, after)
                end = bisect.bisect_right(ids, int(upto[1])) if upto else len(ids)
                payload = b"[" + b",".join(encoded[start : min(end, start + limit)]) + b"]"
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        @override
        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(games: int) -> None:
    with Emulator(Dataset.generate(games=games, seed=1), EmulatorConfig.unthrottled()) as emu:
        records = emu.truth("games")
    server = serve(records)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.json"
        settings = {
            "client_id": "bench",
            "client_secret": "bench",
            "api_url": f"{url}/v4",
            "auth_url": f"{url}/oauth2/token",
            "requests_per_second": 100,
            "use_multiquery": False,
        }
        config.write_text(json.dumps(settings))
        discovered = subprocess.run([*TAP, "--discover"], capture_output=True, check=True)  # noqa: S603
        streams = json.loads(discovered.stdout)["streams"]
        for stream in streams:
            for entry in stream["metadata"]:
                if entry["breadcrumb"] == []:
                    entry["metadata"]["selected"] = stream["tap_stream_id"] == "games"
        catalog = Path(tmp) / "catalog.json"
        catalog.write_text(json.dumps({"streams": streams}))

        started = time.monotonic()
        tap = subprocess.Popen(  # noqa: S603 - our own tap, fixed arguments
            [*TAP, "--config", str(config), "--catalog", str(catalog)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert tap.stdout is not None
        marker = b'{"type":"RECORD"'
        records_out = size = 0
        tail = b""  # a marker may straddle two chunks
        while chunk := tap.stdout.read(1 << 20):
            size += len(chunk)
            records_out += (tail + chunk).count(marker)
            tail = chunk[-(len(marker) - 1) :]
        tap.wait()
        elapsed = time.monotonic() - started
    server.shutdown()
    print(
        f"{records_out:,} records ({size / max(records_out, 1) / 1024:.2f} KB/message) in "
        f"{elapsed:.1f}s including start-up: {records_out / elapsed:,.0f} records/s "
        f"(exit {tap.returncode})"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
