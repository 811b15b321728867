"""One batch file being built: JSON lines, optionally gzipped, spooled to disk.

Lines are gathered in a small buffer and handed to the (gzip) file in chunks,
so memory stays flat however large the batch grows.
"""

from __future__ import annotations

import gzip
import tempfile
from typing import IO, Any, cast

import msgspec

CHUNK_BYTES = 1 << 20
# Level 1 compresses IGDB JSON ~3x at >100 MB/s; higher levels gain ~15% size
# and cost 3-4x the CPU, which would make gzip the bottleneck of the target.
GZIP_LEVEL = 1


# The msgspec reader yields plain JSON types; should Decimals or datetimes reach
# us (SDK code paths), they still become JSON numbers and ISO 8601 strings.
_encoder = msgspec.json.Encoder(decimal_format="number")


class BatchFile:
    """Accumulates records as JSONL into an anonymous temp file."""

    def __init__(self, *, gzip_enabled: bool) -> None:
        self._spool: IO[bytes] = tempfile.TemporaryFile(prefix="target-s3-")  # noqa: SIM115
        self._sink: IO[bytes] = self._spool
        if gzip_enabled:
            # GzipFile is a binary file object; typeshed does not spell it IO[bytes].
            self._sink = cast(
                "IO[bytes]",
                gzip.GzipFile(fileobj=self._spool, mode="wb", compresslevel=GZIP_LEVEL, mtime=0),
            )
        self._buffer = bytearray()
        self.records = 0
        self.raw_bytes = 0

    def write(self, record: dict[str, Any]) -> None:
        start = len(self._buffer)
        _encoder.encode_into(record, self._buffer, start)
        self._buffer.extend(b"\n")
        self.raw_bytes += len(self._buffer) - start
        self.records += 1
        if len(self._buffer) >= CHUNK_BYTES:
            self._flush_buffer()

    def _flush_buffer(self) -> None:
        self._sink.write(self._buffer)
        self._buffer.clear()

    def finish(self) -> tuple[IO[bytes], int]:
        """Close the encoding and return the spool rewound, with its stored size."""
        self._flush_buffer()
        if self._sink is not self._spool:
            self._sink.close()  # writes the gzip trailer; leaves the spool open
        size = self._spool.tell()
        self._spool.seek(0)
        return self._spool, size

    def discard(self) -> None:
        self._spool.close()
