"""Per-stream numbers of an extracting step: what each stream landed, what it asked the source.

Records and bytes come from the manifests' file entries (the files new in the
step); requests, blocks and seconds from the emulator's request log. A
multiquery names the stream of each block, so one shared by several streams
counts as a request of each.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tap_igdb.streams import STREAM_TYPES, IncrementalStream

from bench.floor import TOKEN_ENDPOINT
from tests.support.lake import Lake, manifest

ALL_STREAMS: tuple[str, ...] = tuple(stream.name for stream in STREAM_TYPES)
# The streams read by `updated_at`: the ones a day of source changes can change.
INCREMENTAL_STREAMS: tuple[str, ...] = tuple(
    stream.name for stream in STREAM_TYPES if issubclass(stream, IncrementalStream)
)
MULTIQUERY = "multiquery"
# One block a line: `query <endpoint>[/count] "<name>" { <apicalypse> };`
BLOCK = re.compile(r"^\s*query\s+(\w+)(?:/count)?\s+\"", re.MULTILINE)


@dataclass(frozen=True)
class ListedFile:
    stream: str
    records: int
    bytes: int


@dataclass
class StreamNumbers:
    records: int = 0  # landed: in the step's new files
    bytes: int = 0
    requests: int = 0  # naming the stream: its own, its counts, the multiqueries it shares
    blocks: int = 0  # multiquery blocks naming the stream
    seconds: float = 0.0  # first request's start to last request's end


def listed_files(lake: Lake, streams: Iterable[str]) -> dict[str, ListedFile]:
    """Every file the streams' manifests list, by key."""
    files: dict[str, ListedFile] = {}
    for stream in streams:
        current = manifest(lake, stream)
        for item in current["files"] if current else []:
            files[item["key"]] = ListedFile(stream, int(item["records"]), int(item["bytes"]))
    return files


def blocks_by_stream(request: Mapping[str, Any]) -> Counter[str]:
    """The streams a request names, with its blocks of each (a plain request: none)."""
    endpoint = str(request["endpoint"])
    if endpoint == MULTIQUERY:
        return Counter(BLOCK.findall(str(request["body"])))
    if endpoint == TOKEN_ENDPOINT:
        return Counter()
    return Counter({endpoint.removesuffix("/count"): 0})


def per_stream(
    streams: Iterable[str],
    before: Mapping[str, ListedFile],
    after: Mapping[str, ListedFile],
    log: Iterable[Mapping[str, Any]],
) -> dict[str, StreamNumbers]:
    """The selected streams' numbers (zeros where nothing happened), and any other named."""
    numbers = {stream: StreamNumbers() for stream in streams}
    for key, listed in after.items():
        if key not in before:
            landed = numbers.setdefault(listed.stream, StreamNumbers())
            landed.records += listed.records
            landed.bytes += listed.bytes
    spans: dict[str, tuple[float, float]] = {}
    for request in log:
        start = float(request["time"])
        end = start + float(request["duration"])
        for stream, blocks in blocks_by_stream(request).items():
            named = numbers.setdefault(stream, StreamNumbers())
            named.requests += 1
            named.blocks += blocks
            first, last = spans.get(stream, (start, end))
            spans[stream] = (min(first, start), max(last, end))
    for stream, (first, last) in spans.items():
        numbers[stream].seconds = last - first
    return numbers
