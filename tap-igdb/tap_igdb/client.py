"""IGDBStream: transport, errors, and records handed to the SDK.

Every IGDB stream reads `fields *` in id order. What to request, and when, is the
run-wide reader's business (reader.py): it reads streams ahead on worker threads,
through this class's `execute`. All requests of the run go through one limiter, one
token and one HTTP session. Records are decoded and handed to the SDK on the main
thread, so the SDK stays in charge of RECORD, STATE and ACTIVATE_VERSION messages.
"""

from __future__ import annotations

import datetime
import random
import re
import threading
import time
import typing as t
import weakref
from collections.abc import Iterator, Sequence
from functools import cached_property
from http import HTTPStatus
from importlib import resources

import backoff
import requests
from singer_sdk import singerlib as singer
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.schema.source import SchemaDirectory, StreamSchema
from singer_sdk.streams.rest import RESTStream

from tap_igdb.apicalypse import Block, KeysetWindow, multiquery_body
from tap_igdb.errors import IGDBAPIError, PayloadTooLargeError
from tap_igdb.field_types import FieldTypes
from tap_igdb.http import when_sent
from tap_igdb.plan import Answer, Page
from tap_igdb.progress import Progress
from tap_igdb.responses import (
    BrokenJSONError,
    RawRecords,
    Record,
    UnexpectedShapeError,
    decode_json,
    skim_count,
    skim_multiquery,
    skim_records,
)
from tap_igdb.timestamps import unix_seconds

if t.TYPE_CHECKING:
    from backoff.types import Details
    from singer_sdk.helpers.types import Context, RequestFunc

    from tap_igdb.auth import TwitchAuthenticator
    from tap_igdb.limiter import RequestLimiter
    from tap_igdb.reader import RunReader
    from tap_igdb.tap import TapIGDB

SCHEMAS_DIR = resources.files("tap_igdb") / "schemas"
MAX_OPEN_REQUESTS = 8
"""IGDB's cap on requests in flight (the `max_open_requests` setting's maximum)."""

# Statuses retried with backoff: IGDB's rate limit, its request timeout, server errors.
RETRIABLE_STATUSES = frozenset({408, 429})
PLAIN = ""
"""The name under which a plain (not multiquery) request's one answer is kept."""
_QUERY_ENDPOINTS = re.compile(r'query ([\w/]+) "')


class IGDBStream(RESTStream[t.Any]):
    """Base class for all IGDB v4 endpoints (`POST /v4/{name}`)."""

    primary_keys: t.ClassVar[list[str]] = ["id"]
    # `schemas/{name}.json`: one complete schema per endpoint.
    schema = StreamSchema(SchemaDirectory(SCHEMAS_DIR))
    http_method = "POST"
    payload_as_json = False
    # Records leave the tap exactly as IGDB sent them: no coercion, no dropped keys.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    # Id ranges are read concurrently, so the SDK must not expect sorted keys.
    is_sorted = False
    fits_one_page: t.ClassVar[bool] = False
    """A small lookup table: its first page shares one opening multiquery with others."""

    def __init__(self, tap: TapIGDB) -> None:
        super().__init__(tap=tap)
        self._igdb_tap = tap
        self._answers: weakref.WeakKeyDictionary[requests.Response, dict[str, Answer]] = (
            weakref.WeakKeyDictionary()
        )
        self._answers_lock = threading.Lock()
        self._known_fields = frozenset(self.schema.get("properties", {}))
        self._field_types = FieldTypes(self.name, self.schema)
        self._reported_fields: set[str] = set()
        self._start: tuple[int | None, bool] | None = None
        self._exchange = threading.local()

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
    def requests_session(self) -> requests.Session:
        """The run's single HTTP session: its connections serve every stream."""
        return self._igdb_tap.requests_session

    @property
    def reader(self) -> RunReader:
        """The run's single reader, which requests every stream's records ahead."""
        return self._igdb_tap.reader

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

    # --- requests ---------------------------------------------------------------------

    @property
    def incremental(self) -> bool:
        """Read on `updated_at` (its newest value caps the bookmark)."""
        return bool(self.replication_key)

    def read_window(self) -> KeysetWindow:
        """The part of the endpoint this run reads: changed since the bookmark, or all."""
        updated_since, _ = self._starting_point_once()
        return KeysetWindow(updated_since=updated_since)

    def execute(self, blocks: Sequence[Block]) -> list[Answer]:
        """One request: a multiquery of `blocks`, or (without multiquery) one plain block.

        Retried with backoff, 401 renewed once, 413 raised for the reader to shrink.
        Answers come back in block order, skimmed but not decoded (responses.py).
        """
        if self.config["use_multiquery"]:
            url, body = f"{self.url_base}/multiquery", multiquery_body(blocks)
        else:
            (block,) = blocks
            url, body = f"{self.url_base}/{block.endpoint}", block.body
        prepared = self.build_prepared_request(
            method="POST", url=url, headers=self.http_headers, data=body
        )
        response = self._send(prepared)
        with self._answers_lock:
            answers = self._answers.pop(response)
        if not self.config["use_multiquery"]:
            return [answers[PLAIN]]
        missing = [block.name for block in blocks if block.name not in answers]
        if missing:
            msg = f"{self._endpoint_of(prepared)}: IGDB left out the block(s) {missing}"
            raise IGDBAPIError(msg)
        return [answers[block.name] for block in blocks]

    def exchange_seconds(self) -> float:
        """How long this thread's last request took on the wire (limiter waits excluded)."""
        return float(getattr(self._exchange, "seconds", 0.0))

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
        with self.limiter.slot(), when_sent(self.limiter.sent):
            started = time.monotonic()
            response = self.requests_session.send(prepared, timeout=self.timeout)
            _ = response.content
            self._exchange.seconds = time.monotonic() - started
        return response

    def validate_response(self, response: requests.Response) -> None:
        """Sort IGDB's answers into retriable, resizable and fatal ones."""
        status = response.status_code
        endpoint = self._endpoint_of(response.request)
        if status == HTTPStatus.OK:
            answers = self._skim(response)  # a broken body in a 200 is transient: skim now
            with self._answers_lock:
                self._answers[response] = answers
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

    def _skim(self, response: requests.Response) -> dict[str, Answer]:
        """Each block's answer by name (`PLAIN` for a plain request), records undecoded."""
        endpoint = self._endpoint_of(response.request)
        try:
            if endpoint.startswith("multiquery"):
                return skim_multiquery(response.content)
            if endpoint.endswith("/count"):
                return {PLAIN: skim_count(response.content)}
            return {PLAIN: skim_records(response.content)}
        except BrokenJSONError:
            msg = f"{endpoint}: IGDB sent a 200 with invalid or truncated JSON"
            raise RetriableAPIError(msg, response) from None
        except UnexpectedShapeError as exc:
            msg = f"{endpoint}: unexpected answer from IGDB: {exc}"[:300]
            raise IGDBAPIError(msg) from None

    def checked_records(self, raw: RawRecords) -> list[Record]:
        """Decode an answer's records; a field whose type changed at IGDB stops the run."""
        records = raw.decode()
        self._field_types.check(records)
        return records

    def _records_of(self, page: Page) -> list[Record]:
        """Every record of one response, all checked before any of them moves on."""
        records: list[Record] = []
        for block in page:
            records += self.checked_records(block)
        return records

    # --- records ------------------------------------------------------------------------

    def get_records(self, context: Context | None) -> Iterator[Record]:
        """Read the stream (split when large) and frame full reads with a table version."""
        _, from_scratch = self._starting_point_once()
        versioned = from_scratch and bool(self.config["emit_activate_version_messages"])
        self._stream_version = int(time.time() * 1000) if versioned else None
        if self._stream_version is not None:
            self._write_activate_version_message(self._stream_version)

        progress = Progress(
            self.logger,
            self.name,
            interval=float(self.config["progress_interval_seconds"]),
        )
        self._open_reads()
        read = self.reader.read(self)
        signposted = False
        for page in self.reader.pages(self):
            records = self._records_of(page)
            del page  # its JSON, once decoded
            if not signposted and read.newest is not None:
                # Records changed from the probe on get a later updated_at, wherever the
                # read is: the bookmark must not pass them (the SDK caps it at this).
                self._write_replication_key_signpost(context, read.newest)
            signposted = True
            progress.expected = read.count
            progress.advance(len(records))
            yield from records
            del records  # before the next response is decoded: one page in memory at a time
        self.logger.info("%s (done)", progress.describe())
        self._start = None  # the next sync works out its own starting point

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

    def _open_reads(self) -> None:
        """Have the reader read this stream and the selected streams synced after it."""
        if self.name in self.reader:
            return
        streams = [s for s in self._igdb_tap.streams.values() if isinstance(s, IGDBStream)]
        following = streams[streams.index(self) + 1 :]
        self.reader.open(
            [self, *(s for s in following if s.selected and s.name not in self.reader)]
        )

    def _starting_point_once(self) -> tuple[int | None, bool]:
        """The starting point, worked out (and logged) once per sync."""
        if self._start is None:
            self._start = self._starting_point(None)
        return self._start

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

    def _endpoint_of(self, request: requests.PreparedRequest | None) -> str:
        """`games`, `games/count` or `multiquery (genres, themes)`: what errors name."""
        url = (request.url if request else None) or ""
        endpoint = url.removeprefix(self.url_base).strip("/") or self.name
        if endpoint != "multiquery":
            return endpoint
        body = request.body if request else None
        text = body.decode() if isinstance(body, bytes) else str(body or "")
        streams = [name.removesuffix("/count") for name in _QUERY_ENDPOINTS.findall(text)]
        return f"multiquery ({', '.join(dict.fromkeys(streams)) or self.name})"


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


def _describe_transport_error(exc: BaseException | None, timeout: int) -> str:
    if isinstance(exc, requests.Timeout):
        return f"no answer within request_timeout ({timeout}s)"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed or was cut"
    return type(exc).__name__


__all__ = ["IGDBStream", "PayloadTooLargeError"]
