"""Stopping a server process the tests or the bench started."""

from __future__ import annotations

import signal
import subprocess


def stop(process: subprocess.Popen[bytes] | subprocess.Popen[str] | None, timeout: float) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)
