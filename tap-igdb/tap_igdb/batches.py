"""Batch files: a stream's records as JSONL files, for BATCH messages (batch mode).

Each file holds up to `batch_size` records, one per line, encoded exactly as RECORD
messages carry them (the SDK's msgspec encoder), gzip-compressed or not, as
`batch_config` says. Records are written as they come, so memory holds one record at
a time, not a file's worth. The SDK's own JSONL batcher gzips whatever the
compression setting says, and collects each file's records in a list first.
"""

from __future__ import annotations

import gzip
import itertools
import typing as t
import uuid
from contextlib import contextmanager

from singer_sdk.contrib.msgspec import encoder

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from singer_sdk.helpers._batch import BatchConfig

    from tap_igdb.responses import Record

DEFAULT_BATCH_SIZE = 10_000
"""Records per file when `batch_config` does not say (the SDK's default)."""


def write_batches(records: Iterable[Record], config: BatchConfig, name: str) -> Iterator[str]:
    """Write `records` to files of `config.batch_size` records; yield each file's URL
    once the file is complete. `name` starts every file name (then a run id, a number)."""
    gzipped = config.encoding.compression == "gzip"
    size = config.batch_size or DEFAULT_BATCH_SIZE
    stem = f"{config.storage.prefix or ''}{name}-{uuid.uuid4()}"
    pending = iter(records)
    for number in itertools.count(1):
        first = next(pending, None)
        if first is None:
            return
        filename = f"{stem}-{number}.jsonl" + (".gz" if gzipped else "")
        with config.storage.open(filename, "wb") as file, _compressed(file, gzipped) as out:
            for record in itertools.chain([first], itertools.islice(pending, size - 1)):
                out.write(encoder.encode(record))
                out.write(b"\n")
        yield config.storage.get_url(filename)


class _Output(t.Protocol):
    def write(self, data: bytes, /) -> int: ...


@contextmanager
def _compressed(file: t.IO[bytes], gzipped: bool) -> Iterator[_Output]:
    if not gzipped:
        yield file
        return
    with gzip.GzipFile(fileobj=file, mode="wb") as out:
        yield out
