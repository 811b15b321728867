"""`python -m igdb_emulator` as a subprocess: ready file, serving, clean exit on SIGTERM."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from igdb_emulator.cli import load_dataset, parse_args


def _wait_for(
    path: Path, process: subprocess.Popen[str], deadline_seconds: float = 30.0
) -> dict[str, Any]:
    deadline = time.monotonic() + deadline_seconds
    assert process.stderr is not None  # started with stderr=PIPE
    while not path.exists():
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline, "emulator never became ready"
        time.sleep(0.05)  # polling a condition with a deadline
    details: dict[str, Any] = json.loads(path.read_text())
    return details


def test_cli_serves_until_sigterm(tmp_path: Path) -> None:
    ready = tmp_path / "ready.json"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "igdb_emulator",
            "--dataset",
            "generated",
            "--games",
            "300",
            "--seed",
            "1",
            "--ready-file",
            str(ready),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        details = _wait_for(ready, process)
        assert details["pid"] == process.pid
        assert details["api_url"].startswith("http://127.0.0.1:")
        assert oct(os.stat(ready).st_mode & 0o777) == "0o600"
        query = urllib.parse.urlencode(
            {
                "client_id": details["client_id"],
                "client_secret": details["client_secret"],
                "grant_type": "client_credentials",
            }
        )
        with urllib.request.urlopen(
            urllib.request.Request(f"{details['auth_url']}?{query}", method="POST")
        ) as reply:
            token = json.load(reply)["access_token"]
        request = urllib.request.Request(
            f"{details['api_url']}/games/count",
            data=b"",
            headers={"Client-ID": details["client_id"], "Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(request) as reply:
            assert json.load(reply) == {"count": 300}
        with urllib.request.urlopen(f"{details['admin_url']}/health") as reply:
            assert json.load(reply)["status"] == "ok"
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    assert "listening on http://127.0.0.1:" in out
    assert details["client_secret"] not in out + err


def test_cli_refuses_non_loopback_host() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "igdb_emulator", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "loopback" in result.stderr


def test_the_served_dataset_has_every_table_built_before_it_is_ready() -> None:
    """IGDB answers the first query on any endpoint at once: building a table on
    first use cost a 375,000-game run ~10 s before its first company arrived."""
    dataset = load_dataset(parse_args(["--dataset", "generated", "--games", "300", "--seed", "1"]))

    assert all(dataset.built(endpoint) for endpoint in dataset.endpoints)


def test_the_heavy_ratios_flag_reaches_the_generator() -> None:
    args = parse_args(["--dataset", "generated", "--games", "50", "--ratios", "heavy"])
    assert args.ratios == "heavy"
    assert parse_args([]).ratios == "gameboy"
