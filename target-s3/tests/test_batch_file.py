"""Encoding of one batch file."""

from __future__ import annotations

import datetime as dt
import decimal
import errno
import gzip
import io
import json
import random
import tempfile
from typing import Any

import pytest
from target_s3.batch_file import BatchFile
from typing_extensions import override


def read_back(batch: BatchFile, *, gz: bool) -> list[dict[str, Any]]:
    spool, size = batch.finish()
    data = spool.read()
    assert len(data) == size
    if gz:
        data = gzip.decompress(data)
    return [json.loads(line) for line in data.decode().splitlines()]


def test_sdk_types_become_json_numbers_and_iso_strings() -> None:
    batch = BatchFile(gzip_enabled=False)
    batch.write(
        {
            "rating": decimal.Decimal("72.50"),
            "whole": decimal.Decimal("7.0"),
            "count": decimal.Decimal(12),
            "at": dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC),
        }
    )
    [row] = read_back(batch, gz=False)
    assert row == {"rating": 72.5, "whole": 7.0, "count": 12, "at": "2026-11-26T06:00:00Z"}
    assert isinstance(row["whole"], float)
    assert isinstance(row["count"], int)


def test_large_batches_stream_through_gzip_in_chunks() -> None:
    batch = BatchFile(gzip_enabled=True)
    for number in range(5000):
        batch.write({"id": number, "text": "é" * 300})
    assert batch.records == 5000
    rows = read_back(batch, gz=True)
    assert [row["id"] for row in rows] == list(range(5000))
    assert batch.raw_bytes == sum(
        len(json.dumps(r, ensure_ascii=False, separators=(",", ":")).encode()) + 1 for r in rows
    )


class FullDisk(io.BytesIO):
    """A spool that fills up after 64 KiB."""

    @override
    def write(self, data: Any) -> int:
        if self.tell() + len(data) > 64 * 1024:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(data)


def test_a_failed_write_of_the_spool_is_raised(monkeypatch: Any) -> None:
    monkeypatch.setattr(tempfile, "TemporaryFile", lambda **_: FullDisk())
    noise = random.Random(0)  # incompressible text: the spool really fills up
    batch = BatchFile(gzip_enabled=True)

    def write_several_chunks() -> None:  # the error cannot hide in a buffer
        for number in range(5000):
            batch.write({"id": number, "text": noise.randbytes(500).hex()})
        batch.finish()

    with pytest.raises(OSError, match="No space left"):
        write_several_chunks()
    batch.discard()
