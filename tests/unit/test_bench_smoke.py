"""The benchmark harness still runs end to end (one site, no latency) and its figures add up."""

from __future__ import annotations

import json

import pytest

from benchmarks.bench import run
from benchmarks.measures import count_requests, critical_path, read_waves
from provision.gcp.settings import FAST_TIMING


@pytest.mark.timeout(30)  # about 1 s on 2 cores; the bound only catches a hang
def test_harness_runs_for_one_site() -> None:
    lines: list[str] = []
    results, summary = run(
        [1],
        latency_ms=0.0,
        timing=FAST_TIMING,
        help_runs=0,
        own_process=False,
        plan_repeats=2,
        emit=lines.append,
    )
    (result,) = results
    first = json.loads(lines[0])
    assert first["sites"] == 1
    # everything exists after apply and is read once, except each site's dataset and bucket:
    # their location's and project's scans list them
    assert result.plan_reads == result.objects - 2 * result.sites
    assert result.plan_writes == 0
    assert result.plan_duplicate_reads == 0
    assert result.noop_apply_writes == 0
    assert result.apply_writes > 0
    assert 1 <= result.plan_read_waves <= result.plan_reads
    assert json.loads(lines[-1])["targets"]["noop_apply_zero_writes"] is True
    assert summary["help_s"] is None


def entry(
    start: float, ms: float, *, mutating: bool = False, path: str = "/x"
) -> dict[str, object]:
    return {
        "method": "GET",
        "path": path,
        "query": "",
        "mutating": mutating,
        "start": start,
        "ms": ms,
    }


def test_read_waves_follow_sequential_chains() -> None:
    parallel = [entry(0.0, 50, path=f"/{i}") for i in range(10)]
    assert read_waves(parallel) == 1
    chain = [entry(0.05 * i, 50, path=f"/{i}") for i in range(4)]
    assert read_waves(chain) == 4
    # a slow read overlapping a chain of two does not add a wave; one after both does
    mixed = [entry(0.0, 120), entry(0.0, 50), entry(0.06, 50), entry(0.13, 10)]
    assert read_waves(mixed) == 3
    assert read_waves([entry(0.0, 50, mutating=True)]) == 0


def test_counts_and_critical_path() -> None:
    counted = count_requests([entry(0, 1), entry(0, 1), entry(0, 1, mutating=True)])
    assert (counted.reads, counted.writes, counted.duplicate_reads) == (2, 1, 1)
    seconds = {"a": 1.0, "b": 2.0, "c": 0.5, "d": 4.0}
    deps = {"b": ["a"], "c": ["b", "d"], "d": []}
    assert critical_path(seconds, deps) == 4.5


def test_a_batch_is_one_round_trip_carrying_reads() -> None:
    calls = [{**entry(0.0, 0.5, path=f"/b/{i}/iam"), "in_batch": True} for i in range(3)]
    batch = {**entry(0.0, 50, path="/batch/storage/v1"), "method_id": "batch"}
    after_calls = entry(0.01, 50, path="/other")  # starts after the calls ran, before the answer
    counted = count_requests([*calls, batch, after_calls])
    assert (counted.reads, counted.batches, counted.duplicate_reads) == (4, 1, 0)
    assert counted.read_round_trips == 2
    assert read_waves([*calls, batch, after_calls]) == 1


def test_readme_tables_come_from_the_bench_json() -> None:
    """`make bench-readme` replaces the marked block only, with every figure and the load
    averages next to the targets."""
    from benchmarks.readme import BEGIN, END, rewrite

    lines: list[str] = []
    results, summary = run(
        [1],
        latency_ms=0.0,
        timing=FAST_TIMING,
        help_runs=0,
        own_process=False,
        plan_repeats=1,
        emit=lines.append,
    )
    summary["conditions"]["load_avg_before"] = [0.5, 0.4, 0.3]
    document = {
        "sizes": [json.loads(lines[0])],
        "onboarding": summary.pop("onboarding"),
        "summary": summary,
    }
    readme = f"# Title\n\nbefore\n\n{BEGIN}\nold\n{END}\n\nafter\n"
    rewritten = rewrite(readme, document)
    assert rewritten.startswith("# Title\n\nbefore\n\n") and rewritten.endswith("\n\nafter\n")
    assert "old" not in rewritten
    assert "0.50 / 0.40 / 0.30 before the run" in rewritten
    assert "| a no-op apply makes zero writes | met | at most 0 |" in rewritten
    assert f"| 1 | {results[0].objects} |" in rewritten
    with pytest.raises(ValueError, match="no"):
        rewrite("# no markers\n", document)
