"""`python -m igdb_emulator`: run an emulator until SIGTERM/SIGINT (demo, e2e tests, benchmarks)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from igdb_emulator.dataset import Dataset
from igdb_emulator.latency import LatencyModel
from igdb_emulator.server import Emulator, EmulatorConfig

_LATENCIES: dict[str, Callable[[], LatencyModel]] = {
    "none": LatencyModel.none,
    "per-page": LatencyModel.per_page,
    "flat": LatencyModel.flat,
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m igdb_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (loopback only)")
    parser.add_argument("--port", type=int, default=0, help="port (0 = any free port)")
    parser.add_argument("--dataset", choices=("samples", "generated"), default="samples")
    parser.add_argument("--games", type=int, default=375_000, help="games to generate")
    parser.add_argument("--seed", type=int, default=7, help="generator seed")
    parser.add_argument(
        "--ratios",
        choices=("gameboy", "heavy"),
        default="gameboy",
        help="children per game: the unbiased sample's, or the top-rated games' (stress)",
    )
    parser.add_argument("--unthrottled", action="store_true", help="no rate or open limits")
    parser.add_argument("--latency", choices=tuple(_LATENCIES), default="none")
    parser.add_argument("--ready-file", type=Path, help="write connection details here when ready")
    return parser.parse_args(argv)


def write_ready_file(path: Path, emulator: Emulator) -> None:
    """Write atomically (temp file + rename) so a reader never sees half a file."""
    details = {
        "api_url": emulator.api_url,
        "auth_url": emulator.auth_url,
        "admin_url": emulator.admin_url,
        "client_id": emulator.client_id,
        "client_secret": emulator.client_secret,
        "pid": os.getpid(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w") as file:
        json.dump(details, file)
    os.chmod(temporary, 0o600)  # it holds the (emulator's) client secret
    os.replace(temporary, path)


def load_dataset(args: argparse.Namespace) -> Dataset:
    """The dataset to serve, every table built up front: IGDB answers the first query
    on any endpoint at once, so the first request must not wait for a table."""
    dataset = (
        Dataset.generate(games=args.games, seed=args.seed, ratios=args.ratios)
        if args.dataset == "generated"
        else Dataset.samples()
    )
    dataset.build(workers=max(1, min(4, os.cpu_count() or 1)))
    return dataset


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"error: --host must be a loopback address, got {args.host!r}", file=sys.stderr)
        return 2
    started = time.monotonic()
    dataset = load_dataset(args)
    config = EmulatorConfig(latency=_LATENCIES[args.latency](), host=args.host, port=args.port)
    if args.unthrottled:
        config.requests_per_second = config.max_open_requests = None

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    with Emulator(dataset, config) as emulator:
        print(
            f"igdb-emulator listening on {emulator.base_url} ({dataset.description}, "
            f"ready in {time.monotonic() - started:.1f}s)",
            flush=True,
        )
        if args.ready_file is not None:
            write_ready_file(args.ready_file, emulator)
        while not stop.wait(0.5):
            pass
    return 0
