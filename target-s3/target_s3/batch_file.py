"""One batch file being built: JSON lines, optionally gzipped, spooled to disk.

Lines are gathered in a small buffer, then compressed and written to the spool
in chunks, so memory stays flat however large the batch grows.
"""

from __future__ import annotations

import tempfile
from typing import IO, Any

import msgspec
from isal import isal_zlib

CHUNK_BYTES = 1 << 20
# ISA-L writes standard gzip ~6x faster than zlib level 1 (~800 MB/s against
# ~140 MB/s on IGDB JSON) at a slightly better ratio (~2.8x): with zlib, gzip
# was 40% of the target's CPU time; with ISA-L it is about 10%.
GZIP_LEVEL = 2
GZIP_WBITS = 31  # a gzip member (header and trailer), not a raw zlib stream


# The msgspec reader yields plain JSON types; should Decimals or datetimes reach
# us (SDK code paths), they still become JSON numbers and ISO 8601 strings.
_encoder = msgspec.json.Encoder(decimal_format="number")


class BatchFile:
    """Accumulates records as JSONL into an anonymous temp file."""

    def __init__(self, *, gzip_enabled: bool) -> None:
        self._spool: IO[bytes] = tempfile.TemporaryFile(prefix="target-s3-")  # noqa: SIM115
        self._gzip = (
            isal_zlib.compressobj(GZIP_LEVEL, isal_zlib.DEFLATED, GZIP_WBITS)
            if gzip_enabled
            else None
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
        self._spool.write(self._gzip.compress(self._buffer) if self._gzip else self._buffer)
        self._buffer.clear()

    def finish(self) -> tuple[IO[bytes], int]:
        """Close the encoding and return the spool rewound, with its stored size."""
        self._flush_buffer()
        if self._gzip:
            self._spool.write(self._gzip.flush())  # the last block and the gzip trailer
        size = self._spool.tell()
        self._spool.seek(0)
        return self._spool, size

    def discard(self) -> None:
        self._spool.close()
