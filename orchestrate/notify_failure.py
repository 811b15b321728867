"""Tell a webhook (Slack-compatible ``{"text": ...}``) that a scheduled run failed.

Optional: without ``RUN_FAILURE_WEBHOOK_URL`` it says so and does nothing (the
failed workflow run is the signal). The URL is a secret: it is never printed.

    RUN_FAILURE_WEBHOOK_URL=... RUN_URL=... python -m orchestrate.notify_failure SCHEDULE
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence

WEBHOOK_VARIABLE = "RUN_FAILURE_WEBHOOK_URL"
ATTEMPTS = 3
TIMEOUT_SECONDS = 10.0
BACKOFF_SECONDS = 2.0


class NotifyError(Exception):
    """The webhook could not be told; the message is one line without the URL."""


def message(schedule: str, run_url: str | None) -> dict[str, str]:
    where = f": {run_url}" if run_url else ""
    return {"text": f"IGDB pipeline run `{schedule}` failed{where}"}


def post(
    url: str,
    payload: Mapping[str, str],
    *,
    attempts: int = ATTEMPTS,
    backoff_seconds: float = BACKOFF_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """POST ``payload`` as JSON; retry timeouts, 429 and 5xx; return the HTTP status."""
    if not url.startswith(("https://", "http://")):
        raise NotifyError(f"{WEBHOOK_VARIABLE} is not an http(s) URL")
    body = json.dumps(payload).encode()
    last_problem = "no attempt made"
    for attempt in range(1, attempts + 1):
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
                return int(response.status)
        except urllib.error.HTTPError as error:
            if error.code != 429 and error.code < 500:
                raise NotifyError(f"the webhook refused the notice: HTTP {error.code}") from None
            last_problem = f"HTTP {error.code}"
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            reason = getattr(error, "reason", error)
            last_problem = type(reason).__name__
        if attempt < attempts:
            sleep(backoff_seconds * 2 ** (attempt - 1))
    raise NotifyError(f"the webhook did not answer after {attempts} attempts ({last_problem})")


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    env = os.environ if environ is None else environ
    if len(args) != 1:
        print("usage: python -m orchestrate.notify_failure SCHEDULE", file=sys.stderr)
        return 2
    url = env.get(WEBHOOK_VARIABLE, "").strip()
    if not url:
        print(f"notify_failure: {WEBHOOK_VARIABLE} is not set; no notice sent")
        return 0
    try:
        status = post(url, message(args[0], env.get("RUN_URL") or None))
    except NotifyError as error:
        print(f"notify_failure: {error}", file=sys.stderr)
        return 1
    print(f"notify_failure: webhook told (HTTP {status})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
