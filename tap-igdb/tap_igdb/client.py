"""IGDBStream: transport, Apicalypse bodies, keyset paging, errors and concurrency.

Every IGDB stream reads `fields *` in id order with keyset paging. A stream whose
first request shows more to come is split into id ranges read by worker threads,
each with its own cursor; all requests of the run go through one limiter and one
token. Records are handed to the SDK on the main thread, so the SDK stays in charge
of RECORD, STATE and ACTIVATE_VERSION messages.
"""

from __future__ import annotations

import datetime
import math
import queue
import random
import threading
import time
import typing as t
import weakref
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import cached_property
from http import HTTPStatus
from importlib import resources

import backoff
import msgspec
import requests
from requests.adapters import HTTPAdapter
from singer_sdk import singerlib as singer
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.schema.source import SchemaDirectory, StreamSchema
from singer_sdk.streams.rest import HTTPRequest, PageContext, RESTStream

from tap_igdb.apicalypse import (
    MAX_MULTIQUERY_BLOCKS,
    Block,
    KeysetWindow,
    count_body,
    max_id_body,
    multiquery_body,
    records_body,
)
from tap_igdb.errors import IGDBAPIError
from tap_igdb.pagination import KeysetPaginator, Page, PageToken, Record
from tap_igdb.progress import Progress
from tap_igdb.timestamps import unix_seconds

if t.TYPE_CHECKING:
    from backoff.types import Details
    from singer_sdk.helpers.types import Context, RequestFunc

    from tap_igdb.auth import TwitchAuthenticator
    from tap_igdb.limiter import RequestLimiter
    from tap_igdb.tap import TapIGDB

SCHEMAS_DIR = resources.files("tap_igdb") / "schemas"
MAX_OPEN_REQUESTS = 8
"""IGDB's cap on requests in flight (the `max_open_requests` setting's maximum)."""

# Statuses retried with backoff: IGDB's rate limit, its request timeout, server errors.
RETRIABLE_STATUSES = frozenset({408, 429})
COUNT_BLOCK = "count"
MAX_ID_BLOCK = "max_id"
PLAN_BLOCKS = 2
"""The first multiquery also carries a count block and a highest-id block."""

_decoder = msgspec.json.Decoder()


class PayloadTooLargeError(FatalAPIError):
    """413: the page must be requested again with a smaller limit."""


class IGDBStream(RESTStream[PageToken]):
    """Base class for all IGDB v4 endpoints (`POST /v4/{name}`)."""

    primary_keys: t.ClassVar[list[str]] = ["id"]
    # `schemas/{name}.json`: one complete schema per endpoint.
    schema = StreamSchema(SchemaDirectory(SCHEMAS_DIR))
    http_method = "POST"
    payload_as_json = False
    # Records leave the tap exactly as IGDB sent them: no coercion, no dropped keys.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    # Split streams interleave id ranges, so the SDK must not expect sorted keys.
    is_sorted = False

    def __init__(self, tap: TapIGDB) -> None:
        super().__init__(tap=tap)
        self._igdb_tap = tap
        self._pages_by_response: weakref.WeakKeyDictionary[requests.Response, Page] = (
            weakref.WeakKeyDictionary()
        )
        self._decode_lock = threading.Lock()
        self._known_fields = frozenset(self.schema.get("properties", {}))
        self._reported_fields: set[str] = set()
        # Worker threads share the session: give the pool one connection per worker.
        adapter = HTTPAdapter(pool_maxsize=MAX_OPEN_REQUESTS + 2)
        self.requests_session.mount("http://", adapter)
        self.requests_session.mount("https://", adapter)

    # --- settings -------------------------------------------------------------------

    @property
    def url_base(self) -> str:
        """`api_url` without a trailing slash."""
        return str(self.config["api_url"]).rstrip("/")

    @property
    def path(self) -> str:  # type: ignore[override]  # the SDK declares a class attribute; ours derives from the stream name
        """`/{endpoint}`; the endpoint is the stream name."""
        return f"/{self.name}"

    @property
    def authenticator(self) -> TwitchAuthenticator:
        """The run's single token holder, shared by all streams."""
        return self._igdb_tap.authenticator

    @property
    def limiter(self) -> RequestLimiter:
        """The run's single request limiter, shared by all streams."""
        return self._igdb_tap.limiter

    @property
    def timeout(self) -> int:
        """`request_timeout` seconds for connecting and for each read."""
        return int(self.config["request_timeout"])

    @property
    def http_headers(self) -> dict[str, str]:
        """Headers beside the authenticator's `Client-ID` and `Authorization`."""
        return {"Accept": "application/json", "User-Agent": self.user_agent}

    @property
    def emit_activate_version_messages(self) -> bool:
        """Always False for the SDK's own mechanism: this class emits table versions.

        The SDK only versions FULL_TABLE streams and only before the records; the
        contract with the target needs INCREMENTAL full reads too, and a closing message.
        """
        return False

    @cached_property
    def _page_limit(self) -> int:
        return int(self.config["page_size"])

    @cached_property
    def _multiquery_pages(self) -> int:
        return int(self.config["multiquery_pages"]) if self.config["use_multiquery"] else 1

    # --- requests ---------------------------------------------------------------------

    def get_url(self, context: Context | None) -> str:
        """The endpoint URL, or `/multiquery` (chosen per request by the token)."""
        return f"{self.url_base}{self.path}"

    def get_http_request(self, *, page: PageContext[PageToken]) -> HTTPRequest:
        """Plain pages go to `/{endpoint}`, batched ones to `/multiquery`."""
        request = super().get_http_request(page=page)
        token = page.next_page_token
        if token is not None and token.multiquery:
            request.url = f"{self.url_base}/multiquery"
        return request

    def prepare_request_payload(
        self,
        context: Context | None,
        next_page_token: PageToken | None,
    ) -> str:
        """The Apicalypse body for one page, or one multiquery of pages."""
        token = next_page_token or self._first_token(KeysetWindow())
        if not token.multiquery:
            return records_body(token.window, limit=token.limit)
        blocks = [
            Block(
                self.name,
                f"p{k}",
                records_body(token.window, limit=token.limit, offset=k * token.limit),
            )
            for k in range(token.pages)
        ]
        if token.with_plan:
            blocks.append(Block(f"{self.name}/count", COUNT_BLOCK, count_body(token.window)))
            blocks.append(Block(self.name, MAX_ID_BLOCK, max_id_body(token.window)))
        return multiquery_body(blocks)

    def get_new_paginator(self) -> KeysetPaginator:
        """A paginator over the whole endpoint (the windows are made in `get_records`)."""
        return KeysetPaginator(self._first_token(KeysetWindow()), self._page_of)

    def _first_token(self, window: KeysetWindow) -> PageToken:
        """The opening request; as a multiquery it also asks for the count and highest id."""
        if self.config["use_multiquery"]:
            pages = max(1, min(self._multiquery_pages, MAX_MULTIQUERY_BLOCKS - PLAN_BLOCKS))
            return PageToken(window, self._page_limit, pages, multiquery=True, with_plan=True)
        return PageToken(window, self._page_limit)

    def _fetch(self, paginator: KeysetPaginator) -> requests.Response:
        """Send the paginator's current request; on 413 halve the limit and resend."""
        while True:
            http_request = self.get_http_request(
                page=PageContext(stream_context=None, next_page_token=paginator.current_value)
            )
            prepared = self.build_prepared_request(
                method=http_request.method,
                url=http_request.url,
                headers=http_request.headers,
                data=http_request.data,
            )
            try:
                return self._send(prepared)
            except PayloadTooLargeError:
                if not paginator.shrink():
                    raise
                self.logger.warning(
                    "%s: response over IGDB's size cap (413), retrying with limit %d",
                    self.name,
                    paginator.current_value.limit,
                )

    def request_decorator(self, func: RequestFunc) -> RequestFunc:
        """The SDK's retry policy, with our backoff hooks and without backoff's own logs."""
        decorator: t.Callable[[RequestFunc], RequestFunc] = backoff.on_exception(
            self.backoff_wait_generator,
            (
                RetriableAPIError,
                requests.exceptions.Timeout,
                requests.exceptions.ConnectionError,
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError,
            ),
            max_tries=self.backoff_max_tries,
            on_backoff=self.backoff_handler,
            jitter=self.backoff_jitter,
            logger=None,  # backoff_handler logs each retry; nothing else may
        )
        return decorator(func)

    @cached_property
    def _send_with_retries(self) -> RequestFunc:
        return self.request_decorator(self._send_once)

    def _send(self, prepared: requests.PreparedRequest) -> requests.Response:
        """Send with bounded retries; a clear one-line error once they run out."""
        endpoint = self._endpoint_of(prepared)
        try:
            return self._send_with_retries(prepared, None)
        except RetriableAPIError as exc:
            msg = f"{endpoint}: giving up after {self.backoff_max_tries()} attempts: {exc}"
            raise IGDBAPIError(msg) from None
        except requests.RequestException as exc:
            msg = (
                f"{endpoint}: giving up after {self.backoff_max_tries()} attempts: "
                f"{_describe_transport_error(exc, self.timeout)}"
            )
            raise IGDBAPIError(msg) from None

    def _send_once(
        self,
        prepared: requests.PreparedRequest,
        context: Context | None,
    ) -> requests.Response:
        """One attempt; after a 401, one more with a freshly fetched token."""
        response = self._post(prepared)
        if response.status_code == HTTPStatus.UNAUTHORIZED:
            self.authenticator.renew(_bearer(prepared))
            response = self._post(prepared)
            if response.status_code == HTTPStatus.UNAUTHORIZED:
                msg = (
                    f"{self._endpoint_of(prepared)}: IGDB refused a freshly fetched token (401); "
                    "check that client_id and client_secret belong to one Twitch app"
                )
                raise IGDBAPIError(msg)
        self.validate_response(response)
        return response

    def _post(self, prepared: requests.PreparedRequest) -> requests.Response:
        """One HTTP exchange inside a limiter slot; the body is read before the slot ends."""
        self.authenticator(prepared)
        with self.limiter.slot():
            response = self.requests_session.send(prepared, timeout=self.timeout)
            _ = response.content
        return response

    def validate_response(self, response: requests.Response) -> None:
        """Sort IGDB's answers into retriable, resizable and fatal ones."""
        status = response.status_code
        endpoint = self._endpoint_of(response.request)
        if status == HTTPStatus.OK:
            self._page_of(response)  # a broken body in a 200 is transient: decode now
            return
        cause = _igdb_cause(response)
        if status in RETRIABLE_STATUSES or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            msg = f"{endpoint}: IGDB answered {status} {cause}"
            raise RetriableAPIError(msg, response)
        if status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
            raise PayloadTooLargeError(f"{endpoint}: IGDB answered 413 {cause}")
        msg = f"{endpoint}: IGDB answered {status} {cause}"
        raise IGDBAPIError(msg)

    # --- backoff hooks (used by the SDK's request_decorator) -----------------------------

    def backoff_wait_generator(self) -> t.Generator[float, None, None]:
        """Exponential waits from `backoff_base_ms`, capped at `backoff_max_ms` (in seconds)."""
        return backoff.expo(
            base=2,
            factor=int(self.config["backoff_base_ms"]) / 1000,
            max_value=int(self.config["backoff_max_ms"]) / 1000,
        )

    def backoff_max_tries(self) -> int:
        """The first attempt plus `max_retries` retries."""
        return int(self.config["max_retries"]) + 1

    def backoff_jitter(self, value: float) -> float:
        """Between half and all of the wait, so parallel workers spread out."""
        return value * random.uniform(0.5, 1.0)

    def backoff_handler(self, details: Details) -> None:
        """One warning per retry, without request headers or bodies."""
        exc = details.get("exception")
        reason = (
            str(exc)
            if isinstance(exc, RetriableAPIError)
            else _describe_transport_error(exc, self.timeout)
        )
        self.logger.warning(
            "Retry %d of %d in %.2fs: %s",
            details["tries"],
            self.backoff_max_tries() - 1,
            details.get("wait") or 0.0,
            reason,
        )

    # --- responses ----------------------------------------------------------------------

    def parse_response(self, response: requests.Response) -> Iterable[Record]:
        """Records of a page or of all record blocks of a multiquery, in id order."""
        return self._page_of(response).records

    def _page_of(self, response: requests.Response) -> Page:
        """Decode a 200 response once (cached); invalid JSON raises a retriable error."""
        with self._decode_lock:
            page = self._pages_by_response.get(response)
        if page is None:
            page = self._decode(response)
            with self._decode_lock:
                self._pages_by_response[response] = page
        return page

    def _decode(self, response: requests.Response) -> Page:
        endpoint = self._endpoint_of(response.request)
        try:
            payload = _decoder.decode(response.content)
        except msgspec.DecodeError:
            msg = f"{endpoint}: IGDB sent a 200 with invalid or truncated JSON"
            raise RetriableAPIError(msg, response) from None
        if endpoint.endswith("/count"):
            if not isinstance(payload, dict) or not isinstance(payload.get("count"), int):
                msg = f"{endpoint}: unexpected answer from IGDB: {str(payload)[:200]}"
                raise IGDBAPIError(msg)
            return Page(records=[], block_sizes=[], count=payload["count"])
        if not isinstance(payload, list):
            msg = f"{endpoint}: expected a JSON array from IGDB, got {type(payload).__name__}"
            raise IGDBAPIError(msg)
        if not endpoint.startswith("multiquery"):
            return Page(records=payload, block_sizes=[len(payload)])
        return _multiquery_page(endpoint, payload)

    # --- records ------------------------------------------------------------------------

    def get_records(self, context: Context | None) -> Iterator[Record]:
        """Read the stream (split when large) and frame full reads with a table version."""
        updated_since, from_scratch = self._starting_point(context)
        versioned = from_scratch and bool(self.config["emit_activate_version_messages"])
        self._stream_version = int(time.time() * 1000) if versioned else None
        if self._stream_version is not None:
            self._write_activate_version_message(self._stream_version)

        progress = Progress(
            self.logger,
            self.name,
            interval=float(self.config["progress_interval_seconds"]),
        )
        for records in self._read(KeysetWindow(updated_since=updated_since), progress):
            progress.advance(len(records))
            yield from records
        self.logger.info("%s (done)", progress.describe())

        # Reached only after the SDK wrote every record: "version v is complete".
        if self._stream_version is not None:
            self._write_activate_version_message(self._stream_version)

    @cached_property
    def _records_pass_through(self) -> bool:
        """True when no stream map, flattening or deselected field can change a record."""
        return (
            len(self.stream_maps) == 1
            and type(self.stream_maps[0]) is SameRecordTransform
            and not self.config.get("flattening_enabled")
            and all(self.mask.values())
        )

    def _generate_record_messages(
        self, record: Record
    ) -> t.Generator[singer.RecordMessage, None, None]:
        """The SDK's record path, minus per-record work that cannot change anything here.

        With every field selected, no stream maps and no conformance, the SDK would copy
        and walk each record only to return it unchanged (a third of the tap's time).
        """
        if not self._records_pass_through:
            yield from super()._generate_record_messages(record)
            return
        yield singer.RecordMessage(
            stream=self.name,
            record=record,
            version=self._stream_version,
            time_extracted=datetime.datetime.now(datetime.UTC),
        )

    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        """Keep fields the schema does not know, and say so once per field."""
        if not self._known_fields.issuperset(row):
            new_fields = set(row) - self._known_fields - self._reported_fields
            if new_fields:
                self._reported_fields |= new_fields
                self.logger.warning(
                    "%s: IGDB returned fields missing from the schema, kept as-is: %s",
                    self.name,
                    ", ".join(sorted(new_fields)),
                )
        return row

    def _starting_point(self, context: Context | None) -> tuple[int | None, bool]:
        """`(updated_since, from_scratch)`; FULL_TABLE streams always start from scratch.

        The SDK only understands ISO date-time bookmarks (it would hand us `start_date`
        as a string for an integer key), so the integer start is worked out here.
        """
        if not self.replication_key:
            return None, True
        state = self.get_context_state(context)
        bookmark = None
        if state.get("replication_key") == self.replication_key:
            bookmark = state.get("replication_key_value")
        start_date = self.config.get("start_date")
        starts = []
        if bookmark is not None:
            starts.append(unix_seconds(bookmark) - int(self.config["lookback_seconds"]))
        if start_date:
            starts.append(unix_seconds(start_date))
        since = max(0, *starts) if starts else None
        self.logger.info(
            "%s: reading records with updated_at >= %s (bookmark %s, start_date %s)",
            self.name,
            since if since is not None else "(everything)",
            bookmark,
            start_date,
        )
        return since, bookmark is None

    def _read(self, window: KeysetWindow, progress: Progress) -> Iterator[list[Record]]:
        """The first request, then the rest of the window, split when it is large."""
        paginator = KeysetPaginator(
            self._first_token(window), self._page_of, pages_after_first=self._multiquery_pages
        )
        response = self._fetch(paginator)
        first = self._page_of(response)
        if first.records:
            yield first.records
        paginator.advance(response)
        if paginator.finished:
            return

        count, max_id = first.count, first.max_id
        if count is None or max_id is None:
            count, max_id = self._plan(window)
        progress.expected = count
        token = paginator.current_value
        per_request = token.limit * token.pages
        remaining_requests = math.ceil(max(count - len(first.records), 1) / per_request)
        windows = _split(token.window, max_id, min(remaining_requests, self._max_windows))
        self.logger.info(
            "%s: ~%s records, reading the rest in %d id range(s)",
            self.name,
            f"{count:,}",
            len(windows),
        )
        if len(windows) == 1:
            yield from self._pages(paginator)
            return
        yield from self._read_concurrently(
            [KeysetPaginator(replace(token, window=w), self._page_of) for w in windows]
        )

    def _endpoint_of(self, request: requests.PreparedRequest | None) -> str:
        """`games`, `games/count` or `multiquery (games)`: what error messages name."""
        url = (request.url if request else None) or ""
        endpoint = url.removeprefix(self.url_base).strip("/") or self.name
        return f"multiquery ({self.name})" if endpoint == "multiquery" else endpoint

    @property
    def _max_windows(self) -> int:
        # Twice the workers: a worker that finishes a sparse id range takes another.
        workers = int(self.config["max_open_requests"])
        return 2 * workers if workers > 1 else 1

    def _plan(self, window: KeysetWindow) -> tuple[int, int]:
        """The window's record count and highest id (two plain requests)."""
        count_request = self.build_prepared_request(
            method="POST",
            url=f"{self.url_base}{self.path}/count",
            headers=self.http_headers,
            data=count_body(window),
        )
        count = self._page_of(self._send(count_request)).count or 0
        max_request = self.build_prepared_request(
            method="POST",
            url=self.get_url(None),
            headers=self.http_headers,
            data=max_id_body(window),
        )
        highest = self._page_of(self._send(max_request)).records
        return count, int(highest[0]["id"]) if highest else 0

    def _pages(self, paginator: KeysetPaginator) -> Iterator[list[Record]]:
        """Every remaining page of one cursor."""
        while not paginator.finished:
            response = self._fetch(paginator)
            records = self._page_of(response).records
            if records:
                yield records
            paginator.advance(response)

    def _read_concurrently(self, cursors: list[KeysetPaginator]) -> Iterator[list[Record]]:
        """Read cursors on worker threads; pages reach the caller in arrival order."""
        workers = min(len(cursors), int(self.config["max_open_requests"]))
        # One page of slack: a worker blocked on a full queue already holds its own
        # decoded page (5,000 records), so a deeper queue only adds memory
        # (375k games: 717 -> 439 MiB peak at 2 x workers -> 1, same speed).
        pages: queue.Queue[list[Record] | BaseException | None] = queue.Queue(1)
        stop = threading.Event()

        def hand_over(item: list[Record] | BaseException | None) -> None:
            # Bounded queue keeps memory flat; give up when the reader has stopped.
            while not stop.is_set():
                try:
                    pages.put(item, timeout=0.2)
                except queue.Full:
                    continue
                return

        def read(cursor: KeysetPaginator) -> None:
            try:
                for page in self._pages(cursor):
                    if stop.is_set():
                        return
                    hand_over(page)
            except BaseException as exc:
                hand_over(exc)
            finally:
                hand_over(None)

        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"igdb-{self.name}")
        try:
            for cursor in cursors:
                pool.submit(read, cursor)
            unfinished = len(cursors)
            while unfinished:
                item = pages.get()
                if item is None:
                    unfinished -= 1
                elif isinstance(item, BaseException):
                    raise item
                else:
                    yield item
        finally:
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)


def _split(window: KeysetWindow, max_id: int, parts: int) -> list[KeysetWindow]:
    """Cut (window.after_id, max_id] into `parts` id ranges; the last one is open-ended.

    Open-ended so records created while the run reads are not left out.
    """
    low = window.after_id
    parts = max(1, min(parts, max_id - low))
    bounds = [low + math.ceil((max_id - low) * k / parts) for k in range(parts + 1)]
    windows = [
        KeysetWindow(after_id=bounds[k], upto_id=bounds[k + 1], updated_since=window.updated_since)
        for k in range(parts)
    ]
    windows[-1] = KeysetWindow(after_id=bounds[-2], updated_since=window.updated_since)
    return windows


def _multiquery_page(endpoint: str, blocks: list[t.Any]) -> Page:
    page = Page(records=[], block_sizes=[])
    for block in blocks:
        if not isinstance(block, dict) or "name" not in block:
            msg = f"{endpoint}: unexpected multiquery block from IGDB: {str(block)[:200]}"
            raise IGDBAPIError(msg)
        name = block["name"]
        if name == COUNT_BLOCK:
            page.count = int(block.get("count", 0))
        elif name == MAX_ID_BLOCK:
            result = block.get("result") or []
            page.max_id = int(result[0]["id"]) if result else 0
        else:
            result = block.get("result")
            if not isinstance(result, list):
                msg = f"{endpoint}: multiquery block {name!r} has no result list"
                raise IGDBAPIError(msg)
            page.records.extend(result)
            page.block_sizes.append(len(result))
    return page


def _igdb_cause(response: requests.Response) -> str:
    """IGDB's explanation: `Invalid Field: Invalid field name: 'nope'`, or the body text."""
    text = response.text.strip()
    try:
        payload = _decoder.decode(response.content)
    except msgspec.DecodeError:
        return " ".join(text.split())[:300] or str(response.reason)
    details = payload[0] if isinstance(payload, list) and payload else payload
    if isinstance(details, dict):
        title = details.get("title") or details.get("message") or response.reason
        cause = details.get("cause") or details.get("details")
        return f"{title}: {cause}" if cause else str(title)
    return " ".join(text.split())[:300]


def _bearer(request: requests.PreparedRequest) -> str:
    return str(request.headers.get("Authorization", "")).removeprefix("Bearer ")


def _describe_transport_error(exc: BaseException | None, timeout: int) -> str:
    if isinstance(exc, requests.Timeout):
        return f"no answer within request_timeout ({timeout}s)"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed or was cut"
    return type(exc).__name__


__all__ = ["IGDBStream", "PayloadTooLargeError"]
