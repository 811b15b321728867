"""BATCH messages: the encodings target-s3 reads, and their files, one record at a time.

A BATCH message (the Singer SDK's extension) names files by URL and gives
their encoding; each file holds raw JSON records, one per line, as the SDK's
batcher writes them. target-s3 reads `jsonl`, gzipped or not, from `file://`
URLs and from `s3://` URLs (with the target's own S3 settings and
credentials). Anything else is refused before a file is opened, with one line
naming the stream. Files are streamed line by line, never held whole in
memory, and records are decoded like RECORD messages (floats stay floats).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import msgspec
from botocore.exceptions import BotoCoreError, ClientError
from typing_extensions import override

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

READ_CHUNK = 1 << 20
FORMATS = ("jsonl",)
COMPRESSIONS = ("gzip", "none")  # a missing compression means none
SCHEMES = ("file", "s3")

_decoder: msgspec.json.Decoder[dict[str, Any]] = msgspec.json.Decoder(dict[str, Any])


class BatchInputError(Exception):
    """A BATCH message the target cannot read (one line naming the stream)."""


@dataclass(frozen=True)
class BatchMessage:
    """A checked BATCH message: its stream, whether its files are gzipped, their URLs."""

    stream: str
    gzip: bool
    urls: tuple[str, ...]

    @classmethod
    def parse(cls, message: Mapping[str, Any]) -> BatchMessage:
        """Check the encoding and the URLs, before any file is opened."""
        stream = message["stream"]
        encoding = message["encoding"]
        if not isinstance(encoding, Mapping):
            raise BatchInputError(f"stream '{stream}': BATCH encoding must be an object")
        kind, compression = encoding.get("format"), encoding.get("compression") or "none"
        if kind not in FORMATS:
            raise BatchInputError(
                f"stream '{stream}': BATCH files in format {kind!r} cannot be read; "
                "target-s3 reads format 'jsonl' (compression 'gzip' or 'none')"
            )
        if compression not in COMPRESSIONS:
            raise BatchInputError(
                f"stream '{stream}': BATCH files of format 'jsonl' with compression "
                f"{compression!r} cannot be read; target-s3 reads compression 'gzip' or 'none'"
            )
        urls = message["manifest"]
        if not isinstance(urls, Sequence) or not all(isinstance(url, str) for url in urls):
            raise BatchInputError(f"stream '{stream}': BATCH manifest must be a list of URLs")
        for url in urls:
            if urlsplit(url).scheme not in SCHEMES:
                raise BatchInputError(
                    f"stream '{stream}': BATCH file {url} cannot be read; target-s3 reads "
                    "file:// and s3:// URLs"
                )
        return cls(stream=stream, gzip=compression == "gzip", urls=tuple(urls))


class BatchFiles:
    """Opens the files BATCH messages name; S3 through a client made when first needed."""

    def __init__(self, s3_client: Callable[[], S3Client]) -> None:
        self._make_s3_client = s3_client
        self._s3: S3Client | None = None

    def records(self, batch: BatchMessage) -> Iterator[dict[str, Any]]:
        """Every record of the batch's files, in order, one line at a time."""
        for url in batch.urls:
            with self._failures(batch.stream, url), self._open(url) as raw:
                lines = gzip.GzipFile(fileobj=raw, mode="rb") if batch.gzip else raw
                for number, line in enumerate(lines, start=1):
                    if line.strip():
                        yield _record(batch.stream, url, number, line)

    @contextlib.contextmanager
    def _failures(self, stream: str, url: str) -> Iterator[None]:
        """Whatever reading the file raised, as one line naming the stream and the URL."""
        try:
            yield
        except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
            cause = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise BatchInputError(
                f"stream '{stream}': BATCH file {url} cannot be read: {cause}"
            ) from None
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise BatchInputError(
                f"stream '{stream}': BATCH file {url} cannot be read from S3 ({code})"
            ) from None
        except BotoCoreError as exc:
            raise BatchInputError(
                f"stream '{stream}': BATCH file {url} cannot be read from S3: {exc}"
            ) from None

    @contextlib.contextmanager
    def _open(self, url: str) -> Iterator[IO[bytes]]:
        parts = urlsplit(url)
        if parts.scheme == "file":
            if parts.netloc not in ("", "localhost"):
                raise FileNotFoundError(0, f"not a file on this machine (host {parts.netloc})")
            with open(unquote(parts.path), "rb") as local:
                yield local
            return
        if self._s3 is None:
            self._s3 = self._make_s3_client()
        body = self._s3.get_object(Bucket=parts.netloc, Key=unquote(parts.path.lstrip("/")))
        stream = body["Body"]
        try:
            yield io.BufferedReader(_Readable(stream.read), READ_CHUNK)
        finally:
            stream.close()


def _record(stream: str, url: str, number: int, line: bytes) -> dict[str, Any]:
    try:
        return _decoder.decode(line)
    except msgspec.DecodeError as exc:
        # Never echo the line: a record is not a log message.
        raise BatchInputError(
            f"stream '{stream}': line {number} of BATCH file {url} is not a JSON object: {exc}"
        ) from None


class _Readable(io.RawIOBase):
    """A raw binary stream over a `read(n)` (an S3 object's body), for buffered lines."""

    def __init__(self, read: Callable[[int], bytes]) -> None:
        self._read = read

    @override
    def readable(self) -> bool:
        return True

    @override
    def readinto(self, buffer: Any) -> int:
        data = self._read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
