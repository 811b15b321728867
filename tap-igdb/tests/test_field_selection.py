"""Field selection reaches the request: a catalog that deselects properties makes the
tap ask IGDB for the selected fields only (`fields id,name,updated_at;`), not `fields *`."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec
import pytest
from igdb_emulator import Dataset, Emulator, EmulatorConfig
from tap_igdb.apicalypse import Block, KeysetWindow, records_body
from tap_igdb.client import IGDBStream
from tap_igdb.plan import Opening, RangeRead, StreamRead
from tap_igdb.responses import RawRecords, Record, skim_records
from tap_igdb.settings import ReadSettings
from tap_igdb.tap import TapIGDB

if TYPE_CHECKING:
    from conftest import EmulatorSettings, JSONObject

PAGE_SIZE = 50
STREAMS = ("games", "genres", "covers")
SELECTION = {
    "games": {"name"},  # Meltano's `select: [games.name]`
    "genres": {"checksum", "created_at", "name", "slug", "updated_at"},  # all but url
    "covers": {"alpha_channel", "animated", "checksum", "game", "height", "image_id", "url"},
}
"""The properties each stream's catalog selects; every other one says `selected: false`."""
REQUESTED = {
    "games": "id,name,updated_at",  # the key and the replication key come along
    "genres": "checksum,created_at,id,name,slug,updated_at",  # updated_at: selected, no key
    "covers": "alpha_channel,animated,checksum,game,height,id,image_id,url",
}
"""The `fields` clause each stream's page requests must carry."""


# --- the body builder ----------------------------------------------------------------


def test_records_body_asks_for_the_given_fields_sorted_with_id() -> None:
    body = records_body(KeysetWindow(after_id=12), limit=500, fields=("updated_at", "name"))
    assert body == "fields id,name,updated_at; where id > 12; sort id asc; limit 500;"


def test_records_body_lists_each_field_once_and_keeps_the_offset() -> None:
    body = records_body(KeysetWindow(), limit=10, offset=20, fields=("name", "id", "name"))
    assert body == "fields id,name; where id > -1; sort id asc; limit 10; offset 20;"


def test_records_body_without_fields_asks_for_everything() -> None:
    assert records_body(KeysetWindow(), limit=10, fields=None).startswith("fields *;")
    assert records_body(KeysetWindow(), limit=10).startswith("fields *;")


def test_records_body_with_only_the_key_still_pages_on_it() -> None:
    assert records_body(KeysetWindow(), limit=10, fields=()).startswith("fields id;")


@pytest.mark.parametrize("name", ["", "na me", "name;", "a,b", "*"])
def test_records_body_refuses_what_is_not_a_field_name(name: str) -> None:
    with pytest.raises(ValueError, match="field name"):
        records_body(KeysetWindow(), limit=10, fields=(name,))


# --- the plan ------------------------------------------------------------------------


@dataclass
class SelectingSource:
    """A stream as the plan sees it, with some fields selected."""

    name: str = "games"
    fits_one_page: bool = False
    incremental: bool = True
    requested_fields: tuple[str, ...] | None = ("id", "name", "updated_at")
    window: KeysetWindow = field(default_factory=KeysetWindow)

    def read_window(self) -> KeysetWindow:
        return self.window

    def checked_records(self, raw: RawRecords) -> list[Record]:
        return raw.decode()


SETTINGS = ReadSettings(
    page_size=10,
    multiquery_pages=2,
    use_multiquery=True,
    max_open_requests=2,
    requests_per_second=4,
)


def _records(*ids: int) -> RawRecords:
    return skim_records(msgspec.json.encode([{"id": i, "updated_at": 1} for i in ids]))


def test_every_page_of_a_range_asks_for_the_selected_fields() -> None:
    read = StreamRead(SelectingSource(), order=0, settings=SETTINGS)
    probe, head = read.opening()
    assert isinstance(head, RangeRead)
    assert [block.body for block in head.blocks()] == [
        "fields id,name,updated_at; where id > -1; sort id asc; limit 10;",
        "fields id,name,updated_at; where id > -1; sort id asc; limit 10; offset 10;",
    ]
    # The probe asks what it always asks: the newest update, the count, boundary ids.
    assert [block.body.split(";")[0] for block in probe.blocks()] == [
        "fields updated_at",
        "where id > -1",
        *["fields id"] * 8,
    ]
    # The ranges the probe's answer opens keep the selection.
    boundaries = [_records(20), *[_records()] * 7]
    (rest,) = probe.answered([_records(1), 25, *boundaries])
    assert isinstance(rest, RangeRead)
    assert [block.body for block in rest.blocks()] == [
        "fields id,name,updated_at; where id > 20; sort id asc; limit 10;",
    ]


def test_the_opening_multiquery_asks_each_lookup_for_its_own_fields() -> None:
    reads = [
        StreamRead(SelectingSource("genres", True, False, ("id", "name")), 0, SETTINGS),
        StreamRead(SelectingSource("themes", True, False, None), 1, SETTINGS),
    ]
    assert Opening(reads).blocks() == [
        Block("genres", "genres", "fields id,name; where id > -1; sort id asc; limit 10;"),
        Block("themes", "themes", "fields *; where id > -1; sort id asc; limit 10;"),
    ]


# --- the tap, against the emulator -------------------------------------------------------


@dataclass
class Run:
    """One sync's messages and the `(endpoint, body)` of every query it sent."""

    messages: list[JSONObject]
    queries: list[tuple[str, str]]

    def records(self, stream: str) -> list[JSONObject]:
        return [
            m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream
        ]

    def schema(self, stream: str) -> JSONObject:
        (message,) = (m for m in self.messages if m["type"] == "SCHEMA" and m["stream"] == stream)
        return dict(message["schema"])

    def pages(self, stream: str) -> list[str]:
        """The bodies asking for a page of the stream's records."""
        return [b for e, b in self.queries if e == stream and f"limit {PAGE_SIZE};" in b]

    def probes(self) -> set[tuple[str, str]]:
        """Every other query: counts, newest updates, boundary ids."""
        return {(e, b) for e, b in self.queries if f"limit {PAGE_SIZE};" not in b}


def catalog(selection: dict[str, set[str]] | None) -> JSONObject:
    """The discovered catalog with only STREAMS selected, and in each the properties
    `selection` names (every property when None), as Meltano writes it: `selected`
    on every breadcrumb, false for the rest (the key's and replication key's too)."""
    discovered = copy.deepcopy(TapIGDB(config=PLACEHOLDER).catalog_dict)
    for stream in discovered["streams"]:
        name = stream["tap_stream_id"]
        for entry in stream["metadata"]:
            breadcrumb = entry["breadcrumb"]
            if not breadcrumb:
                entry["metadata"]["selected"] = name in STREAMS
            elif selection is not None and name in selection:
                entry["metadata"]["selected"] = breadcrumb[-1] in selection[name]
            else:
                entry["metadata"]["selected"] = True
    return discovered


PLACEHOLDER = {"client_id": "placeholder", "client_secret": "placeholder"}


def _queries(emu: Emulator) -> list[tuple[str, str]]:
    queries = []
    for request in emu.request_log:
        if request.endpoint == "multiquery":
            blocks = re.findall(r'query (\S+) "\w+" \{ (.*?) \};', request.body)
            queries += [(endpoint, body) for endpoint, body in blocks]
        elif request.endpoint != "oauth2/token":
            queries.append((request.endpoint, request.body))
    return queries


def sync(emu: Emulator, config: JSONObject, document: JSONObject) -> Run:
    emu.clear_request_log()
    tap = TapIGDB(config=config, catalog=document, clock=lambda: float(emu.now))
    output = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with contextlib.redirect_stdout(output):
        tap.sync_all()
    output.flush()
    lines = output.buffer.getvalue().decode().splitlines()
    return Run([json.loads(line) for line in lines if line.strip()], _queries(emu))


@dataclass
class Runs:
    emu: Emulator
    full: Run
    partial: Run


@pytest.fixture(scope="module", params=[True, False], ids=["multiquery", "plain requests"])
def runs(request: pytest.FixtureRequest, emulator_config: EmulatorSettings) -> Iterator[Runs]:
    """A sync of STREAMS with every property selected, then one with SELECTION."""
    paging: dict[str, Any] = {"use_multiquery": request.param, "page_size": PAGE_SIZE}
    with Emulator(Dataset.samples(), EmulatorConfig.unthrottled()) as emu:
        config = emulator_config(emu, requests_per_second=100, **paging)
        full = sync(emu, config, catalog(None))
        partial = sync(emu, config, catalog(SELECTION))
        yield Runs(emu, full, partial)


@pytest.mark.parametrize("stream", STREAMS)
def test_a_partial_selection_asks_igdb_for_the_selected_fields_only(
    runs: Runs, stream: str
) -> None:
    pages = runs.partial.pages(stream)
    assert pages
    assert {page.split(";")[0] for page in pages} == {f"fields {REQUESTED[stream]}"}
    assert not [body for _, body in runs.partial.queries if "fields *" in body]


def test_a_partial_selection_leaves_the_probes_as_they_were(runs: Runs) -> None:
    assert runs.partial.probes() == runs.full.probes()
    assert len(runs.partial.pages("games")) == len(runs.full.pages("games"))


@pytest.mark.parametrize("stream", STREAMS)
def test_a_partial_selection_emits_the_selected_properties_only(runs: Runs, stream: str) -> None:
    records = runs.partial.records(stream)
    truth = runs.emu.truth(stream)
    wanted = set(REQUESTED[stream].split(","))
    assert sorted(records, key=lambda r: r["id"]) == [
        {key: value for key, value in record.items() if key in wanted} for record in truth
    ]
    assert set(runs.partial.schema(stream)["properties"]) == wanted


@pytest.mark.parametrize("stream", STREAMS)
def test_a_full_selection_asks_for_every_field(runs: Runs, stream: str) -> None:
    pages = runs.full.pages(stream)
    assert pages
    assert {page.split(";")[0] for page in pages} == {"fields *"}
    assert sorted(runs.full.records(stream), key=lambda r: r["id"]) == runs.emu.truth(stream)


def requested(tap: TapIGDB, stream: str) -> tuple[str, ...] | None:
    found = tap.streams[stream]
    assert isinstance(found, IGDBStream)
    return found.requested_fields


def test_requested_fields_follow_the_catalog() -> None:
    tap = TapIGDB(config=PLACEHOLDER, catalog=catalog(SELECTION))
    for stream in STREAMS:
        assert requested(tap, stream) == tuple(REQUESTED[stream].split(","))
    full = TapIGDB(config=PLACEHOLDER, catalog=catalog(None))
    assert {requested(full, stream) for stream in STREAMS} == {None}
    assert requested(TapIGDB(config=PLACEHOLDER), "games") is None


def test_requested_fields_keep_the_keys_when_a_catalog_omits_their_inclusion() -> None:
    """A hand-written catalog without `inclusion: automatic` cannot drop the key (paging
    needs it) nor the replication key (the bookmark does)."""
    document = catalog({"games": {"name"}})
    for stream in document["streams"]:
        for entry in stream["metadata"]:
            entry["metadata"].pop("inclusion", None)
    tap = TapIGDB(config=PLACEHOLDER, catalog=document)
    assert requested(tap, "games") == ("id", "name", "updated_at")
