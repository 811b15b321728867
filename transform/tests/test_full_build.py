"""A full build of the sample lake: dim_games equals the source, dbt tests pass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, igdb: Any) -> Any:
    lake, project = igdb.local_project(tmp_path_factory.mktemp("full"))
    streams = igdb.sample_streams()
    lake.write_streams(streams, batch_size=200)
    build = project.invoke("build")
    return project, streams, build


def test_dim_games_equals_the_source_row_for_row(
    built: Any, igdb: Any, duckdb_connection: Any
) -> None:
    project, streams, _ = built
    actual = project.dim_games(duckdb_connection)
    expected = igdb.expected_dim_games(streams)
    assert len(actual) == 600
    igdb.assert_rows_equal(actual, expected)


def test_names_and_deprecated_fields_are_resolved(built: Any, duckdb_connection: Any) -> None:
    project, _, _ = built
    games = project.dim_games(duckdb_connection)
    # Real records: The Witcher 3 (rag sample) and a mod from the gameboy seeds.
    assert any(g["developer_names"] and g["publisher_names"] for g in games.values())
    rival_species = games[350392]
    assert rival_species["game_type"] == "Mod"
    assert rival_species["platform_names"] == ["PC (Microsoft Windows)"]


def test_docs_generate_works(built: Any) -> None:
    project, _, _ = built
    project.invoke("docs", "generate")
    assert (project.workdir / "target" / "catalog.json").exists()


def test_build_ran_every_data_and_unit_test(built: Any) -> None:
    _, _, build = built
    by_type: dict[str, list[str]] = {}
    for node_result in build.result.results:
        by_type.setdefault(node_result.node.resource_type, []).append(str(node_result.status))
    models = list((Path(__file__).resolve().parents[1] / "models").rglob("*.sql"))
    assert len(by_type["model"]) == len(models) > 74  # a staging model per stream, and more
    assert len(by_type["test"]) > 100
    assert len(by_type["unit_test"]) == 6
    assert {status for statuses in by_type.values() for status in statuses} <= {"success", "pass"}


def test_views_over_the_parquet_marts_replace_an_older_build_s_tables(
    tmp_path: Path, igdb: Any, duckdb_connection: Any
) -> None:
    """Earlier builds left the games state and dim_games as tables in the DuckDB
    file (dev keeps it); the views over the written Parquet files replace them."""
    lake, project = igdb.local_project(tmp_path)
    streams = igdb.sample_streams()
    lake.write_streams(streams)
    database = str(project.workdir / "igdb.duckdb")
    with duckdb.connect(database) as connection:
        connection.execute("create table main.base_igdb__games as select 1 as id")
        connection.execute("create table main.dim_games as select 1 as game_id")

    project.invoke("run")

    kinds = project.show(
        "select table_name, table_type from information_schema.tables"
        " where table_schema = 'main' and table_name in ('base_igdb__games', 'dim_games')"
    )
    assert {row["table_name"]: row["table_type"] for row in kinds} == {
        "base_igdb__games": "VIEW",
        "dim_games": "VIEW",
    }
    igdb.assert_rows_equal(project.dim_games(duckdb_connection), igdb.expected_dim_games(streams))


# information_schema's names for the types the contract spells short.
TYPE_ALIASES = {"timestamp with time zone": "timestamptz"}


def test_raw_views_and_staging_models_have_the_contract_s_columns(built: Any) -> None:
    """What DuckDB really built: each raw view has its source table's columns and
    types, each staging model its generated YAML's columns, in that order."""
    project, _, _ = built
    rows = project.show(
        "select table_schema, table_name, column_name, data_type"
        " from information_schema.columns"
        " where table_schema = 'igdb_raw' or table_name like 'stg_igdb__%'"
        " order by table_schema, table_name, ordinal_position"
    )
    built_columns: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        kind = TYPE_ALIASES.get(row["data_type"].lower(), row["data_type"].lower())
        built_columns.setdefault(row["table_name"], []).append((row["column_name"], kind))

    staging = Path(__file__).resolve().parents[1] / "models" / "staging" / "igdb"
    (source,) = yaml.safe_load((staging / "_igdb__sources.yml").read_text())["sources"]
    tables = [table for table in source["tables"] if table.get("columns")]
    assert len(tables) >= 21
    for table in tables:
        declared = [(c["name"], c["data_type"].lower()) for c in table["columns"]]
        assert built_columns[table["name"]] == declared, table["name"]
        (model,) = yaml.safe_load((staging / f"stg_igdb__{table['name']}.yml").read_text())[
            "models"
        ]
        staged = [column for column, _ in built_columns[model["name"]]]
        assert staged == [column["name"] for column in model["columns"]], model["name"]
