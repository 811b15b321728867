"""What readers of the lake use: listing keys, a plain write, and every manifest."""

from __future__ import annotations

from typing import Any

from target_s3 import lake as contract
from target_s3.manifest_store import read_manifests


def test_keys_are_listed_by_prefix_in_order(lake: Any) -> None:
    storage = lake.storage()
    for key in ("raw/games/b.json", "raw/games/a.json", "raw/gamesx/c.json", "marts/d.json"):
        storage.write(key, b"{}")

    assert storage.list_keys("raw/games") == [
        "raw/games/a.json",
        "raw/games/b.json",
        "raw/gamesx/c.json",
    ]
    assert storage.list_keys("raw/games/") == ["raw/games/a.json", "raw/games/b.json"]
    assert storage.list_keys("nothing/here/") == []


def test_a_plain_write_replaces_the_document_and_carries_no_status(lake: Any) -> None:
    storage = lake.storage()
    storage.write("marts/_runs/latest.json", b'{"run": 1}')
    storage.write("marts/_runs/latest.json", b'{"run": 2}')

    current = storage.read("marts/_runs/latest.json")
    assert current is not None
    assert current.body == b'{"run": 2}'
    assert lake.status("marts/_runs/latest.json") is None  # nothing for the lifecycle to expire


def test_every_manifest_of_both_layouts_is_read(lake: Any, singer: Any) -> None:
    lake.run(singer.lines("games_incremental.singer"))
    lake.run(singer.lines("genres_snapshot.singer", version=5))

    manifests = read_manifests(lake.storage(), "raw")

    assert [(m.stream, m.layout) for m in manifests] == [
        ("genres", "snapshot"),  # raw/dimensions/genres/ sorts before raw/games/
        ("games", "incremental"),
    ]
    assert [m.files[0].records for m in manifests] == [23, 100]
    assert read_manifests(lake.storage(), "elsewhere") == []


def test_a_file_being_written_is_not_listed(local_lake: Any) -> None:
    storage = local_lake.storage()
    storage.write("raw/games/a.json", b"{}")
    folder = local_lake.root / "raw" / "games"
    (folder / ".b.json.0123.tmp").write_bytes(b"half")  # as a writer leaves it mid-write

    assert storage.list_keys(contract.layer_folder("raw")) == ["raw/games/a.json"]
