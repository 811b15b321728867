"""The prod shape: raw layer and marts on S3 (a real SeaweedFS), or the raw
layer behind a plain HTTP base URL as CloudFront serves it."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest


def s3_env(seaweedfs: Any) -> dict[str, str]:
    return {
        "IGDB_S3_ENDPOINT": seaweedfs.endpoint_url.removeprefix("http://"),
        "IGDB_S3_URL_STYLE": "path",
        "IGDB_S3_USE_SSL": "false",
        "AWS_ACCESS_KEY_ID": seaweedfs.access_key,
        "AWS_SECRET_ACCESS_KEY": seaweedfs.secret_key,
        "AWS_REGION": seaweedfs.region,
    }


def test_reads_the_lake_and_writes_the_mart_on_s3(
    tmp_path: Path, igdb: Any, seaweedfs: Any, s3_bucket: str, duckdb_connection: Any
) -> None:
    client = seaweedfs.client()
    lake = igdb.raw_lake(igdb.s3_store(client, s3_bucket))
    streams = igdb.sample_streams()
    del streams["covers"]  # an optional stream that was not extracted
    lake.write_streams(streams, batch_size=250)
    project = igdb.dbt_project(
        lake.url, f"s3://{s3_bucket}/marts", tmp_path, target="prod", extra_env=s3_env(seaweedfs)
    )
    project.invoke("run")

    changed = {**streams["games"][3], "name": "Renamed on S3"}
    changed["updated_at"] += 60
    lake.tick(days=1)
    lake.write_batch("games", [changed])
    project.invoke("run")

    keys = {o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket, Prefix="marts/")["Contents"]}
    assert keys == {"marts/dim_games/dim_games.parquet", "marts/_state/games.parquet"}
    duckdb_connection.execute(
        "create secret (type s3, key_id ?, secret ?, endpoint ?,"
        " url_style 'path', use_ssl false, region ?)",
        [
            seaweedfs.access_key,
            seaweedfs.secret_key,
            s3_env(seaweedfs)["IGDB_S3_ENDPOINT"],
            seaweedfs.region,
        ],
    )
    games = project.dim_games(duckdb_connection)
    expected = igdb.expected_dim_games({**streams, "games": [*streams["games"], changed]})
    igdb.assert_rows_equal(games, expected)
    assert games[changed["id"]]["name"] == "Renamed on S3"
    assert all(g["cover_image_id"] is None for g in games.values())

    # The S3 secret reaches DuckDB only as a setting: never dbt's logs or artifacts.
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.suffix in {".log", ".json", ".sql"}:
            assert seaweedfs.secret_key not in path.read_text(errors="ignore"), path


@pytest.fixture
def http_lake(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """Serve a local lake directory over HTTP on a free loopback port."""
    root = tmp_path / "lake"
    root.mkdir()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_reads_the_lake_through_an_http_base_url(
    tmp_path: Path, igdb: Any, http_lake: tuple[Path, str], duckdb_connection: Any
) -> None:
    root, base_url = http_lake
    lake = igdb.raw_lake(igdb.local_store(root))
    streams = igdb.sample_streams()
    del streams["companies"]  # optional and absent: the server answers 404
    lake.write_streams(streams)
    project = igdb.dbt_project(base_url, str(tmp_path / "marts"), tmp_path / "dbt")
    (tmp_path / "dbt").mkdir()
    project.invoke("run")

    games = project.dim_games(duckdb_connection)
    igdb.assert_rows_equal(games, igdb.expected_dim_games(streams))
    assert all(g["developer_names"] == [] for g in games.values())
