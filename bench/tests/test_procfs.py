"""Reading /proc: stat and status parsing, naming, and a live process tree."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from bench.procfs import (
    parse_peak_rss_kib,
    parse_stat,
    process_name,
    read_peak_rss_kib,
    reset_peak_rss,
)
from bench.tree import ProcessSample, ProcessTreeMonitor, summarize

STAT = (
    "4242 (tap igdb) (x)) S 4200 4242 4200 0 -1 4194560 5000 0 0 0 "
    "150 25 3 1 20 0 9 0 123456 700000000 40000 18446744073709551615"
)


def test_parse_stat_handles_spaces_and_parentheses_in_the_command_name() -> None:
    stat = parse_stat(STAT)

    assert stat.pid == 4242
    assert stat.comm == "tap igdb) (x)"
    assert stat.ppid == 4200
    assert stat.cpu_ticks == 175  # utime 150 + stime 25, not the children's 3 + 1
    assert stat.start_ticks == 123456


def test_parse_peak_rss_reads_vmhwm_in_kib() -> None:
    status = "Name:\tpython\nVmPeak:\t  900000 kB\nVmHWM:\t   65536 kB\nVmRSS:\t 1000 kB\n"

    assert parse_peak_rss_kib(status) == 65536
    assert parse_peak_rss_kib("Name:\tkthreadd\nState:\tS\n") is None


def test_process_name_recognises_the_pipeline_executables() -> None:
    venv = "/repo/.meltano/extractors/tap-igdb/venv/bin"
    assert process_name([f"{venv}/python", f"{venv}/tap-igdb", "--config", "c"], "x") == "tap-igdb"
    assert process_name(["/v/bin/python", "/v/bin/target-s3", "--config", "c"], "x") == "target-s3"
    assert process_name(["/v/bin/python", "/v/bin/dbt_invoker", "run"], "x") == "dbt"
    assert process_name(["/v/bin/python3", "/v/bin/dbt", "run"], "x") == "dbt"
    assert process_name(["/repo/.venv/bin/python", "/repo/.venv/bin/meltano", "run"], "x") == (
        "meltano"
    )
    assert process_name([], "kworker") == "kworker"
    assert process_name(["/bin/sh", "-c", "true"], "sh") == "sh"


def test_a_helper_process_counts_toward_the_part_that_started_it() -> None:
    tracker = ["/v/bin/python", "-B", "-Wonce", "-c", "from multiprocessing.resource_tracker ..."]

    assert process_name(tracker, "python", parent="dbt") == "dbt"
    assert process_name(tracker, "python", parent="sh") == "python"
    assert process_name(["/v/bin/python", "/v/bin/target-s3"], "x", parent="meltano") == (
        "target-s3"
    )


def _sample(name: str, start: float, end: float, cpu: float, rss: int) -> ProcessSample:
    return ProcessSample(
        pid=1, name=name, argv=[name], started_s=start, last_seen_s=end, cpu_s=cpu, peak_rss_kib=rss
    )


def test_summarize_sums_cpu_spans_wall_and_keeps_the_largest_peak_per_name() -> None:
    samples = [
        _sample("meltano", 0.0, 10.0, 2.0, 200_000),
        _sample("dbt", 6.0, 9.0, 1.5, 100_000),
        _sample("dbt", 6.5, 9.5, 2.5, 300_000),
    ]

    summary = summarize(samples)

    assert list(summary) == ["meltano", "dbt"]
    assert summary["dbt"].processes == 2
    assert summary["dbt"].wall_s == 3.5
    assert summary["dbt"].cpu_s == 4.0
    assert summary["dbt"].peak_rss_mib == 300_000 / 1024
    assert summary["meltano"].wall_s == 10.0


CHILD_TREE = textwrap.dedent(
    """
    import subprocess, sys
    grandchild = (
        "import time\\n"
        "block = bytearray(160 * 1024 * 1024)\\n"
        "for i in range(0, len(block), 4096): block[i] = 1\\n"
        "deadline = time.process_time() + 0.6\\n"
        "while time.process_time() < deadline: pass\\n"
    )
    subprocess.run([sys.executable, "-c", grandchild], check=True)
    """
)


def test_monitor_sees_every_descendant_with_its_cpu_and_peak_memory() -> None:
    process = subprocess.Popen([sys.executable, "-c", CHILD_TREE])
    with ProcessTreeMonitor(process.pid, interval_s=0.05) as monitor:
        assert process.wait(timeout=60) == 0

    samples = monitor.samples()
    pids = {s.pid for s in samples}
    assert process.pid in pids
    assert len(pids) == 2, samples
    grandchild = next(s for s in samples if s.pid != process.pid)
    assert grandchild.peak_rss_kib >= 160 * 1024
    assert grandchild.cpu_s >= 0.3
    assert grandchild.last_seen_s >= grandchild.started_s


FREES_ITS_PEAK = textwrap.dedent(
    """
    import sys
    block = bytearray(120 * 1024 * 1024)
    for i in range(0, len(block), 4096): block[i] = 1
    del block
    print("freed", flush=True)
    sys.stdin.readline()
    """
)


def test_reset_peak_rss_starts_a_new_peak_from_the_current_size() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", FREES_ITS_PEAK],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "freed\n"
        before = read_peak_rss_kib(process.pid)
        assert before is not None
        assert before >= 120 * 1024

        assert reset_peak_rss(process.pid)

        after = read_peak_rss_kib(process.pid)
        assert after is not None
        assert after < 60 * 1024
    finally:
        process.communicate("done\n", timeout=30)


def test_reset_peak_rss_of_a_gone_process_is_false() -> None:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(timeout=30)

    assert not reset_peak_rss(process.pid)
