"""The results table: latest result per scenario and size, rendered as Markdown."""

from __future__ import annotations

from typing import Any

import pytest

from bench.report import latest_scenarios, render_tables, replace_generated_section


def _step(name: str, wall: float, **extra: Any) -> dict[str, Any]:
    return {
        "step": name,
        "wall_s": wall,
        "cpu_s": wall / 2,
        "peak_rss_mib": 256.0,
        "processes": {
            "meltano": {"processes": 1, "wall_s": wall, "cpu_s": 1.0, "peak_rss_mib": 150.0},
            "tap-igdb": {"processes": 1, "wall_s": wall - 1, "cpu_s": 20.0, "peak_rss_mib": 256.0},
        },
        "servers": {"emulator": {"cpu_s": 12.5, "peak_rss_mib": 700.0}},
        **extra,
    }


def _scenario(
    name: str, games: int, wall: float, passed: bool = True, source: str = "per-page"
) -> dict[str, Any]:
    requests = {
        "requests": 80,
        "rejected": 0,
        "token_requests": 1,
        "latency_s": 720.0,
        "floor_s": 90.0,
        "ratio": wall / 90.0,
    }
    return {
        "scenario": name,
        "source": source,
        "games": games,
        "steps": [
            _step("full-refresh-el", wall, records=400_000, records_per_s=400_000 / wall,
                  source_requests=requests),
            _step("dbt-build", 30.0),
        ],
        "correctness": {"passed": passed, "games": games, "detail": "equal"},
    }  # fmt: skip


def _run(date: str, *scenarios: dict[str, Any]) -> dict[str, Any]:
    return {"date": date, "machine": {"cpu": "AMD EPYC", "cores": 2}, "scenarios": list(scenarios)}


def test_latest_scenarios_keeps_the_newest_result_per_scenario_and_size() -> None:
    old = _run("2026-11-25T10:00:00Z", _scenario("igdb-flat", 375_000, 200.0))
    new = _run("2026-11-26T10:00:00Z", _scenario("igdb-flat", 375_000, 100.0))
    small = _run("2026-11-24T10:00:00Z", _scenario("igdb-flat", 100_000, 50.0))

    latest = latest_scenarios([new, small, old])

    assert [(run["date"], s["games"]) for run, s in latest] == [
        ("2026-11-24T10:00:00Z", 100_000),
        ("2026-11-26T10:00:00Z", 375_000),
    ]


def test_render_tables_shows_steps_floor_ratio_and_correctness() -> None:
    run = _run("2026-11-26T10:00:00Z", _scenario("igdb-per-page", 375_000, 117.0, passed=False))

    text = render_tables(latest_scenarios([run]))

    assert (
        "| igdb-per-page | 375,000 | full-refresh-el | 117.0 | 58.5 | 256 | 3,419 | 80 | 0 "
        "| 90.0 | 1.30 | FAIL |"
    ) in text
    assert "| igdb-per-page | 375,000 | dbt-build | 30.0 | 15.0 | 256 | | | | | | FAIL |" in text
    step = "| igdb-per-page | 375,000 | full-refresh-el"
    assert f"{step} | tap-igdb | 1 | 116.0 | 20.0 | 256 |" in text
    assert f"{step} | emulator (source) | 1 | | 12.5 | 700 |" in text
    assert "- 2026-11-26T10:00:00Z (igdb-per-page 375,000): AMD EPYC, 2 cores" in text


def test_render_tables_gives_no_floor_for_an_unthrottled_source() -> None:
    result = _scenario("unthrottled-local", 20_000, 10.0, source="unthrottled")

    text = render_tables(latest_scenarios([_run("2026-11-26T10:00:00Z", result)]))

    assert "| full-refresh-el | 10.0 | 5.0 | 256 | 40,000 | 80 | 0 | | | pass |" in text


def test_replace_generated_section_keeps_everything_outside_the_markers() -> None:
    doc = "# Perf\n\nintro\n<!-- bench:start -->\nold table\n<!-- bench:end -->\n\n## Log\nkept\n"

    updated = replace_generated_section(doc, "new table\n")

    assert updated == (
        "# Perf\n\nintro\n<!-- bench:start -->\nnew table\n<!-- bench:end -->\n\n## Log\nkept\n"
    )


def test_replace_generated_section_names_missing_markers() -> None:
    with pytest.raises(ValueError, match="bench:start"):
        replace_generated_section("# Perf\nno markers\n", "table")


def _numbers(records: int, requests: int) -> dict[str, Any]:
    return {"records": records, "bytes": records * 300, "requests": requests, "blocks": requests,
            "seconds": requests * 1.5}  # fmt: skip


def _every_stream_scenario() -> dict[str, Any]:
    result = _scenario("every-stream-per-page", 2_000, 60.0)
    result["steps"][0]["streams"] = {
        "genres": _numbers(23, 1),
        "games": _numbers(2_000, 4),
        "themes": _numbers(0, 1),
        "covers": _numbers(1_500, 3),
    }
    return result


def test_render_tables_shows_one_per_stream_table_per_step_by_records() -> None:
    text = render_tables(latest_scenarios([_run("2026-11-26T10:00:00Z", _every_stream_scenario())]))

    assert "Per stream: every-stream-per-page, 2,000 games, full-refresh-el" in text
    assert "counts as a request of each" in text
    table = text[text.index("| stream | records | bytes | requests | blocks | seconds |") :]
    rows = [line for line in table.splitlines() if line.startswith("| ")][2:6]
    assert rows == [
        "| games | 2,000 | 600,000 | 4 | 4 | 6.0 |",
        "| covers | 1,500 | 450,000 | 3 | 3 | 4.5 |",
        "| genres | 23 | 6,900 | 1 | 1 | 1.5 |",
        "| themes | 0 | 0 | 1 | 1 | 1.5 |",
    ]
    assert "dbt-build" not in text[text.index("Per stream:") :]  # no table for a step without


def test_render_tables_leaves_per_stream_numbers_of_the_default_scenarios_in_the_json() -> None:
    result = _every_stream_scenario()
    result["scenario"] = "igdb-per-page"

    text = render_tables(latest_scenarios([_run("2026-11-26T10:00:00Z", result)]))

    assert "Per stream:" not in text
