"""IGDBTransport: one request to IGDB, from Apicalypse blocks to skimmed answers.

Everything between a plan's blocks and their answers happens here, for every
stream of the run: the request (`POST /v4/{endpoint}` with one block, or
`/v4/multiquery` with several), its retries with backoff (retries.py), one token
renewal after a 401, the status-to-error mapping, the 413 split, and the skim of
the answers (responses.py). The retried call returns the answers themselves.

Plain `requests` and a retry loop rather than the SDK's RESTStream machinery: that
machinery is per stream (a stream's paginator walking its own pages through its own
session), while here one request may carry several streams' blocks (the opening
multiquery), requests go out from the reader's worker threads (reader.py), and
the run shares one session, one token and one limiter. RESTStream's hooks
(`request_decorator`, `validate_response`, the `backoff_*` methods) would each be
overridden and called from code of ours, so the policy is written out here once,
and the streams are plain SDK `Stream`s (client.py).

Errors are one line naming the endpoint (`games`, `games/count` or
`multiquery (genres, themes)`), the status and IGDB's cause, never a secret:
429, 408, 5xx, timeouts, cut connections and broken JSON in a 200 are retried;
413 asks the request for fewer records per page, then again; any other status fails
at once. Each is the failure of the streams the request was for (IGDBAPIError), except
a 401 with a freshly fetched token, which no stream can get past (AuthError).
"""

from __future__ import annotations

import threading
import time
import typing as t
from http import HTTPStatus

import requests
from singer_sdk.exceptions import RetriableAPIError

from tap_igdb.apicalypse import multiquery_body
from tap_igdb.errors import AuthError, IGDBAPIError, PayloadTooLargeError
from tap_igdb.http import new_session, when_sent
from tap_igdb.responses import (
    BrokenJSONError,
    UnexpectedShapeError,
    decode_json,
    skim_count,
    skim_multiquery,
    skim_records,
)
from tap_igdb.retries import RetriesExhaustedError, with_retries
from tap_igdb.settings import MAX_OPEN_REQUESTS

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Sequence

    from tap_igdb.apicalypse import Block
    from tap_igdb.auth import TwitchAuthenticator
    from tap_igdb.limiter import RequestLimiter
    from tap_igdb.responses import Answer
    from tap_igdb.settings import RetrySettings

# Statuses retried with backoff: IGDB's rate limit, its request timeout, server errors.
RETRIABLE_STATUSES = frozenset({HTTPStatus.REQUEST_TIMEOUT, HTTPStatus.TOO_MANY_REQUESTS})
# Failures on the way, worth asking again.
_TRANSIENT = (
    RetriableAPIError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class Resizable(t.Protocol):
    """A request that can ask for fewer records per page after a 413."""

    def blocks(self) -> Sequence[Block]:
        """The blocks to send now (their page size may have shrunk)."""
        ...

    def shrink(self) -> int | None:
        """Halve the page size: the new size, or None when it is one record already."""
        ...


class IGDBTransport:
    """Sends the run's requests (thread-safe: the reader's workers share it)."""

    def __init__(
        self,
        *,
        api_url: str,
        use_multiquery: bool,
        request_timeout: int,
        retries: RetrySettings,
        authenticator: TwitchAuthenticator,
        limiter: RequestLimiter,
        user_agent: str,
        logger: logging.Logger,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._url_base = api_url.rstrip("/")
        self._use_multiquery = use_multiquery
        self._timeout = request_timeout
        self._retries = retries
        self._authenticator = authenticator
        self._limiter = limiter
        self._headers = {"Accept": "application/json", "User-Agent": user_agent}
        self._logger = logger
        self._sleep = sleep
        # One kept-alive connection per worker, and spares.
        self._session = new_session(pool_size=MAX_OPEN_REQUESTS + 2)
        self._exchange = threading.local()

    def fetch(self, request: Resizable) -> list[Answer]:
        """The request's answers in block order; after a 413, sent again for fewer
        records per page, until they fit or one record per page is too many."""
        while True:
            blocks = request.blocks()
            try:
                return self.execute(blocks)
            except PayloadTooLargeError as exc:
                page_size = request.shrink()
                if page_size is None:
                    raise IGDBAPIError(f"{exc} (already at one record per page)") from None
                self._logger.warning(
                    "%s: response over IGDB's size cap (413), retrying with limit %d",
                    _endpoint(blocks, self._use_multiquery),
                    page_size,
                )

    def execute(self, blocks: Sequence[Block]) -> list[Answer]:
        """One request: a multiquery of `blocks`, or (without multiquery) one plain
        block; retried with backoff. Answers in block order, skimmed, not decoded."""
        endpoint = _endpoint(blocks, self._use_multiquery)
        if self._use_multiquery:
            url, body = f"{self._url_base}/multiquery", multiquery_body(blocks)
        else:
            (block,) = blocks
            url, body = f"{self._url_base}/{block.endpoint}", block.body
        prepared = self._session.prepare_request(
            requests.Request("POST", url, headers=self._headers, data=body)
        )
        try:
            return with_retries(
                lambda: self._attempt(prepared, blocks, endpoint),
                self._retries,
                transient=self._transient_failure,
                on_retry=self._warn_retry,
                sleep=self._sleep,
            )
        except RetriesExhaustedError as exc:
            msg = f"{endpoint}: giving up after {exc.attempts} attempts: {exc.reason}"
            raise IGDBAPIError(msg) from None

    def exchange_seconds(self) -> float:
        """How long this thread's last request took on the wire (limiter waits excluded)."""
        return float(getattr(self._exchange, "seconds", 0.0))

    def _attempt(
        self, prepared: requests.PreparedRequest, blocks: Sequence[Block], endpoint: str
    ) -> list[Answer]:
        """One attempt; after a 401, one more with a freshly fetched token."""
        response = self._post(prepared)
        if response.status_code == HTTPStatus.UNAUTHORIZED:
            self._authenticator.renew(_bearer(prepared))
            response = self._post(prepared)
            if response.status_code == HTTPStatus.UNAUTHORIZED:
                msg = (
                    f"{endpoint}: IGDB refused a freshly fetched token (401); "
                    "check that client_id and client_secret belong to one Twitch app"
                )
                raise AuthError(msg)  # every stream's requests would be refused
        return self._answers(response, blocks, endpoint)

    def _post(self, prepared: requests.PreparedRequest) -> requests.Response:
        """One HTTP exchange inside a limiter slot; the body is read before the slot ends."""
        self._authenticator(prepared)
        with self._limiter.slot(), when_sent(self._limiter.sent):
            started = time.monotonic()
            response = self._session.send(prepared, timeout=self._timeout)
            _ = response.content
            self._exchange.seconds = time.monotonic() - started
        return response

    def _answers(
        self, response: requests.Response, blocks: Sequence[Block], endpoint: str
    ) -> list[Answer]:
        """A 200's answers, skimmed (a broken body is transient); other statuses sorted
        into retriable, resizable and fatal errors."""
        status = response.status_code
        if status == HTTPStatus.OK:
            return _skim(response, blocks, endpoint, multiquery=self._use_multiquery)
        cause = _igdb_cause(response)
        if status in RETRIABLE_STATUSES or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            msg = f"{endpoint}: IGDB answered {status} {cause}"
            raise RetriableAPIError(msg, response)
        if status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
            raise PayloadTooLargeError(f"{endpoint}: IGDB answered 413 {cause}")
        msg = f"{endpoint}: IGDB answered {status} {cause}"
        raise IGDBAPIError(msg)

    def _transient_failure(self, exc: Exception) -> str | None:
        """What went wrong, if asking again may help (never headers or bodies)."""
        if not isinstance(exc, _TRANSIENT):
            return None
        if isinstance(exc, RetriableAPIError):
            return str(exc)
        if isinstance(exc, requests.Timeout):
            return f"no answer within request_timeout ({self._timeout}s)"
        if isinstance(exc, requests.ConnectionError):
            return "connection failed or was cut"
        return type(exc).__name__

    def _warn_retry(self, failed_attempts: int, wait: float, reason: str) -> None:
        """One warning per retry."""
        self._logger.warning(
            "Retry %d of %d in %.2fs: %s",
            failed_attempts,
            self._retries.max_retries,
            wait,
            reason,
        )


def _endpoint(blocks: Sequence[Block], multiquery: bool) -> str:
    """`games`, `games/count` or `multiquery (genres, themes)`: what messages name."""
    if not multiquery:
        return blocks[0].endpoint
    streams = dict.fromkeys(block.endpoint.removesuffix("/count") for block in blocks)
    return f"multiquery ({', '.join(streams)})"


def _skim(
    response: requests.Response, blocks: Sequence[Block], endpoint: str, *, multiquery: bool
) -> list[Answer]:
    """Each block's answer in block order, records undecoded (responses.py)."""
    try:
        if not multiquery:
            (block,) = blocks
            if block.endpoint.endswith("/count"):
                return [skim_count(response.content)]
            return [skim_records(response.content)]
        answers = skim_multiquery(response.content)
    except BrokenJSONError:
        msg = f"{endpoint}: IGDB sent a 200 with invalid or truncated JSON"
        raise RetriableAPIError(msg, response) from None
    except UnexpectedShapeError as exc:
        msg = f"{endpoint}: unexpected answer from IGDB: {exc}"[:300]
        raise IGDBAPIError(msg) from None
    missing = [block.name for block in blocks if block.name not in answers]
    if missing:
        msg = f"{endpoint}: IGDB left out the block(s) {missing}"
        raise IGDBAPIError(msg)
    return [answers[block.name] for block in blocks]


def _igdb_cause(response: requests.Response) -> str:
    """IGDB's explanation: `Invalid Field: Invalid field name: 'nope'`, or the body text."""
    text = response.text.strip()
    try:
        payload = decode_json(response.content)
    except BrokenJSONError:
        return " ".join(text.split())[:300] or str(response.reason)
    details = payload[0] if isinstance(payload, list) and payload else payload
    if isinstance(details, dict):
        title = details.get("title") or details.get("message") or response.reason
        cause = details.get("cause") or details.get("details")
        return f"{title}: {cause}" if cause else str(title)
    return " ".join(text.split())[:300]


def _bearer(request: requests.PreparedRequest) -> str:
    return str(request.headers.get("Authorization", "")).removeprefix("Bearer ")
