"""The failure notice: a real HTTP server on loopback plays the webhook."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from typing_extensions import override

from orchestrate.notify_failure import NotifyError, main, post


class Webhook:
    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.bodies: list[dict[str, str]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                hook.bodies.append(json.loads(self.rfile.read(length)))
                status = hook.statuses.pop(0) if hook.statuses else 200
                self.send_response(status)
                self.end_headers()

            @override
            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook/secret-token"


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook([])
    thread = threading.Thread(target=hook.server.serve_forever, daemon=True)
    thread.start()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()
    thread.join(timeout=5)


def test_a_failed_run_is_posted_with_its_schedule_and_run_url(
    webhook: Webhook, capsys: pytest.CaptureFixture[str]
) -> None:
    environ = {"RUN_FAILURE_WEBHOOK_URL": webhook.url, "RUN_URL": "https://gh/runs/7"}

    assert main(["daily-incremental"], environ) == 0

    assert webhook.bodies == [
        {"text": "IGDB pipeline run `daily-incremental` failed: https://gh/runs/7"}
    ]
    assert "secret-token" not in capsys.readouterr().out


def test_server_errors_are_retried_within_bounds(webhook: Webhook) -> None:
    webhook.statuses = [503, 502]
    waits: list[float] = []

    assert post(webhook.url, {"text": "x"}, sleep=waits.append) == 200
    assert len(webhook.bodies) == 3
    assert waits == [2.0, 4.0]


def test_a_webhook_that_keeps_failing_is_one_clear_error_without_the_url(
    webhook: Webhook, capsys: pytest.CaptureFixture[str]
) -> None:
    webhook.statuses = [500, 500, 500]
    with pytest.raises(NotifyError) as error:
        post(webhook.url, {"text": "x"}, sleep=lambda _: None)
    assert str(error.value) == "the webhook did not answer after 3 attempts (HTTP 500)"
    webhook.statuses = [404]
    environ = {"RUN_FAILURE_WEBHOOK_URL": webhook.url}
    assert main(["daily-incremental"], environ) == 1
    err = capsys.readouterr().err
    assert "HTTP 404" in err
    assert "secret-token" not in err


def test_without_the_secret_nothing_is_sent(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["daily-incremental"], {}) == 0
    assert "no notice sent" in capsys.readouterr().out
