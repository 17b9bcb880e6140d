"""`make bench`: how plan and apply time grow with the number of sites, on the emulator.

For each N (default 1, 10, 100, 300, 1000) the emulator runs with a fixed latency per request
(default 50 ms; in its own process, or in this one with `--emulator-in-process`) and a blueprint
of N sites is generated (see `benchmarks.generate`). One JSON line per N reports: plan from
empty (everything planned as create), apply from empty, plan after apply (everything exists and
is read; the median of `--plan-repeats` runs) with the client's CPU per read, a no-op apply,
requests and read waves from the emulator's journal, the sequential baseline (the same reads
replayed one after another, as a script of gcloud calls would make them; up to
`--sequential-max` sites), peak RSS, and for the `--quota-sites` sizes a plan with the
emulator's quota enforcement on and the tool's pacing on (its 429s). Then one line per
onboarding under the `google` profile (`--google-sites`, see `benchmarks.onboarding`). A last
line gives `provision --help` and `provision validate` times, the time `provision emulator
serve` takes to answer its first request, the run conditions (load average before and after,
cores, Python) and whether each target was met. Everything also goes to one JSON file
(`--json`), from which `python -m benchmarks.readme` rewrites the README's tables. A benchmark,
not a test: it never fails on a target.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks import emulators, onboarding
from benchmarks.generate import write_blueprint
from benchmarks.measures import JournalEntry, count_requests, critical_path, is_read, read_waves
from benchmarks.readme import DEFAULT_JSON, tables
from provision.apply import MUTATING, PER_API_LIMIT, apply_plan
from provision.blueprint.expand import expand
from provision.blueprint.loader import load
from provision.gcp.api import GoogleApi
from provision.gcp.credentials import Target
from provision.gcp.settings import PacingPolicy, Timing
from provision.model import Action
from provision.plan import DEFAULT_WORKERS as PLAN_WORKERS
from provision.plan import plan_blueprint
from provision.resources import registry
from provision.resources.base import Context, Options

DEFAULT_SITES = (1, 10, 100, 300, 1000)
DEFAULT_LATENCY_MS = 50.0
QUOTA_TIMING = Timing()
"""Production timing, pacing included, for the plan against the emulator's quota enforcement."""

BENCH_TIMING = Timing(pacing=PacingPolicy(enabled=False))
"""Production retry and polling; no client-side write pacing (the emulator enforces no quotas,
as with `provision --emulator`)."""


@dataclass(frozen=True)
class SizeResult:
    """The figures for one blueprint size."""

    sites: int
    objects: int
    graph_depth: int
    plan_empty_s: float
    apply_empty_s: float
    apply_critical_path_s: float
    """The longest chain of dependent changes, each taking the time it took in this apply."""
    apply_api_bound_s: float
    """The busiest API's summed change time / changes allowed per API at once: the floor the
    per-API bound sets."""
    plan_s: float
    plan_cpu_s: float
    """The client's CPU time (all its threads) during the plan after apply; the median run."""
    plan_reads: int
    plan_batches: int
    """Cloud Storage batches carrying some of the plan's reads (see `benchmarks.measures`)."""
    plan_writes: int
    plan_duplicate_reads: int
    plan_read_waves: int
    plan_lower_bound_s: float
    """`plan_read_waves * latency`."""
    plan_pool_bound_s: float
    """`read round trips * latency / plan workers`: the floor the planner's worker pool sets."""
    sequential_reads_s: float
    noop_apply_s: float
    noop_apply_writes: int
    apply_reads: int
    apply_writes: int
    peak_rss_mb: float
    plan_ratio_to_1: float | None = None
    quota_plan_s: float | None = None
    """The plan after apply with the emulator enforcing Google's default quotas and the tool
    pacing its calls (None when not measured)."""
    quota_plan_429s: int | None = None

    @property
    def reads_per_object(self) -> float:
        return self.plan_reads / self.objects

    @property
    def cpu_ms_per_read(self) -> float:
        return 1000.0 * self.plan_cpu_s / self.plan_reads if self.plan_reads else 0.0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--sites",
        default=",".join(str(n) for n in DEFAULT_SITES),
        help="comma-separated site counts (default: %(default)s)",
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=DEFAULT_LATENCY_MS,
        help="emulator latency per request (default: %(default)s)",
    )
    parser.add_argument(
        "--emulator-in-process",
        action="store_true",
        help="run the emulator in this process (sharing its interpreter) instead of its own",
    )
    parser.add_argument(
        "--no-sequential", action="store_true", help="skip the sequential replay baseline"
    )
    parser.add_argument(
        "--sequential-max",
        type=int,
        default=300,
        help="largest N replayed sequentially (default: %(default)s)",
    )
    parser.add_argument(
        "--quota-sites",
        default="300",
        help="sizes also planned against the emulator's quotas, pacing on (default: "
        "%(default)s; empty for none)",
    )
    parser.add_argument(
        "--google-sites",
        default="1,10",
        help="sizes onboarded under the google profile (default: %(default)s; empty for none)",
    )
    parser.add_argument(
        "--google-scale",
        type=float,
        default=1.0,
        help="multiply the google profile's durations (e.g. 0.1 for a quick run)",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=DEFAULT_JSON,
        help="write every figure to this file (default: %(default)s)",
    )
    parser.add_argument(
        "--plan-repeats",
        type=int,
        default=5,
        help="plans after apply per size; the median is reported (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    sizes = _sizes(parser, "--sites", args.sites)
    if not sizes:
        parser.error("--sites needs positive site counts")
    load_before = load_average()
    results, summary = run(
        sizes,
        latency_ms=args.latency_ms,
        sequential=not args.no_sequential,
        sequential_max=args.sequential_max,
        quota_sizes=_sizes(parser, "--quota-sites", args.quota_sites),
        own_process=not args.emulator_in_process,
        plan_repeats=max(1, args.plan_repeats),
        emit=lambda line: print(line, flush=True),
        google_sizes=_sizes(parser, "--google-sites", args.google_sites),
        google_scale=args.google_scale,
    )
    summary["conditions"]["load_avg_before"] = load_before
    document = {
        "sizes": [line_of(r, args.latency_ms) for r in results],
        "onboarding": summary.pop("onboarding"),
        "summary": summary,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    print(tables(document))
    print(f"figures written to {args.json}; `make bench-readme` puts these tables in the README")
    return 0


def _sizes(parser: argparse.ArgumentParser, flag: str, text: str) -> list[int]:
    try:
        sizes = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        parser.error(f"{flag} must be comma-separated integers, not {text!r}")
    if sizes and sizes[0] < 1:
        parser.error(f"{flag} needs positive site counts")
    return sizes


def run(
    sizes: Sequence[int],
    *,
    latency_ms: float,
    sequential: bool = True,
    sequential_max: int = 300,
    quota_sizes: Sequence[int] = (),
    timing: Timing = BENCH_TIMING,
    help_runs: int = 5,
    plan_repeats: int = 5,
    own_process: bool = True,
    emit: Callable[[str], None],
    google_sizes: Sequence[int] = (),
    google_scale: float = 1.0,
) -> tuple[list[SizeResult], dict[str, Any]]:
    """Measure every size in `sizes`, emitting one JSON line each, then one per onboarding
    under the google profile (`google_sizes`), then a summary line."""
    results: list[SizeResult] = []
    loads: list[float] = []  # the 1-minute load average after each size
    with (
        emulators.started(latency_ms, own_process=own_process) as running,
        tempfile.TemporaryDirectory() as scratch,
    ):
        for sites in sizes:
            result = measure(
                running,
                Path(scratch) / f"n{sites}",
                sites,
                timing=timing,
                sequential=sequential and sites <= sequential_max,
                latency_ms=latency_ms,
                plan_repeats=plan_repeats,
                quotas=sites in quota_sizes,
            )
            if results and results[0].sites == 1:
                ratio = round(result.plan_s / results[0].plan_s, 2)
                result = SizeResult(**{**asdict(result), "plan_ratio_to_1": ratio})
            elif sites == 1:
                result = SizeResult(**{**asdict(result), "plan_ratio_to_1": 1.0})
            results.append(result)
            line = line_of(result, latency_ms)
            line["emulator"] = "own process" if own_process else "in process"
            line["load_avg"] = load_average()
            loads.append(line["load_avg"][0])
            emit(json.dumps(line))
    onboarded: list[dict[str, Any]] = []
    if google_sizes:

        def emitted(figures: dict[str, Any]) -> None:
            shown = {k: v for k, v in figures.items() if k != "by_operation"}
            emit(json.dumps({"onboarding": shown}))

        onboarded = onboarding.run(google_sizes, scale=google_scale, emit=emitted)
        loads.append(load_average()[0])
    help_s = help_time(help_runs) if help_runs else None
    validate_s = validate_time(help_runs) if help_runs else None
    start_s = emulator_start_time(help_runs) if help_runs else None
    summary = {
        "help_s": help_s,
        "validate_s": validate_s,
        "emulator_start_s": start_s,
        **targets(results, help_s, start_s, validate_s, onboarded),
        "conditions": {
            **conditions(latency_ms, own_process, plan_repeats),
            "load_1min_max": max(loads, default=None),
        },
    }
    emit(json.dumps(summary))
    summary["onboarding"] = onboarded
    return results, summary


def measure(
    running: emulators.Emulator,
    directory: Path,
    sites: int,
    *,
    timing: Timing,
    sequential: bool,
    latency_ms: float,
    plan_repeats: int = 1,
    quotas: bool = False,
) -> SizeResult:
    """Plan and apply from empty, then plan (`plan_repeats` times; the median counts) and apply
    again, on a freshly reset emulator; with `quotas`, plan once more against the emulator's
    quota enforcement with the tool's pacing on."""
    running.reset()
    loaded = load(write_blueprint(directory, sites))
    resources = expand(loaded)
    containers = {
        r.address: [
            d
            for d in r.depends_on
            if registry.get(r.address.kind).reads_after(r.address, d, registry.get(d.kind))
        ]
        for r in resources
    }

    def context() -> Context:
        api = GoogleApi(Target(endpoint=running.base_url, label="emulator"), timing)
        return Context.create(api, Options(caller=api.identity.member))

    plan_empty_s, empty_plan = timed(lambda: plan_blueprint(loaded, context()))
    running.clear_journal()
    apply_ctx = context()
    apply_empty_s, report = timed(lambda: apply_plan(empty_plan, apply_ctx))
    if not report.ok:
        raise RuntimeError(f"apply from empty failed: {report.summary()}")
    applied = count_requests(running.journal())
    seconds = {str(r.address): r.seconds for r in report.results if r.action in MUTATING}
    deps = {str(c.address): [str(d) for d in c.depends_on] for c in empty_plan.changes}
    path_s = critical_path(seconds, deps)
    per_api: dict[str, float] = {}
    for result in report.results:
        if result.action in MUTATING:
            api = registry.get(result.address.kind).api
            per_api[api] = per_api.get(api, 0.0) + result.seconds
    api_bound_s = max(per_api.values(), default=0.0) / PER_API_LIMIT

    running.clear_journal()
    cpu_before = time.process_time()
    plan_s, plan = timed(lambda: plan_blueprint(loaded, context()))
    plan_cpu = [time.process_time() - cpu_before]
    plan_entries = running.journal()
    if plan.has_changes:
        pending = [str(c.address) for c in plan.changes if c.action is not Action.NOOP]
        raise RuntimeError(f"plan after apply is not empty: {pending[:5]}")
    plan_runs = [plan_s]
    for _ in range(plan_repeats - 1):
        cpu_before = time.process_time()
        plan_runs.append(timed(lambda: plan_blueprint(loaded, context()))[0])
        plan_cpu.append(time.process_time() - cpu_before)
    plan_s = statistics.median(plan_runs)
    quota_s, quota_429s = quota_plan(running, loaded) if quotas else (None, None)
    sequential_s = replay_sequentially(running.base_url, plan_entries) if sequential else 0.0

    running.clear_journal()
    noop_s, _ = timed(lambda: apply_plan(plan, context()))
    noop_writes = count_requests(running.journal()).writes
    requests = count_requests(plan_entries)
    waves = read_waves(plan_entries)
    return SizeResult(
        sites=sites,
        objects=len(resources),
        graph_depth=depth(containers),
        plan_empty_s=round(plan_empty_s, 3),
        apply_empty_s=round(apply_empty_s, 3),
        apply_critical_path_s=round(path_s, 3),
        apply_api_bound_s=round(api_bound_s, 3),
        plan_s=round(plan_s, 3),
        plan_cpu_s=round(statistics.median(plan_cpu), 3),
        plan_reads=requests.reads,
        plan_batches=requests.batches,
        plan_writes=requests.writes,
        plan_duplicate_reads=requests.duplicate_reads,
        plan_read_waves=waves,
        plan_lower_bound_s=round(waves * latency_ms / 1000.0, 3),
        plan_pool_bound_s=round(requests.read_round_trips * latency_ms / 1000.0 / PLAN_WORKERS, 3),
        sequential_reads_s=round(sequential_s, 3),
        noop_apply_s=round(noop_s, 3),
        noop_apply_writes=noop_writes,
        apply_reads=applied.reads,
        apply_writes=applied.writes,
        peak_rss_mb=round(peak_rss_mb(), 1),
        quota_plan_s=None if quota_s is None else round(quota_s, 3),
        quota_plan_429s=quota_429s,
    )


def quota_plan(running: emulators.Emulator, loaded: Any) -> tuple[float, int]:
    """Plan with the emulator enforcing Google's default quotas (fresh buckets: its quota ledger
    is charged only while enforcement is on) and the tool pacing reads and writes; the wall
    time and the number of 429 answers."""
    running.configure({"quotas": True})
    try:
        running.clear_journal()
        api = GoogleApi(Target(endpoint=running.base_url, label="emulator"), QUOTA_TIMING)
        ctx = Context.create(api, Options(caller=api.identity.member))
        seconds, _ = timed(lambda: plan_blueprint(loaded, ctx))
        limited = sum(1 for e in running.journal() if e["status"] == 429)
    finally:
        running.configure({"quotas": False})
    return seconds, limited


def timed(step: Callable[[], Any]) -> tuple[float, Any]:
    """Wall time of `step()` and its value. The heap is collected first, so garbage left by
    earlier steps is not charged to this one (a CLI run starts with a fresh process)."""
    gc.collect()
    start = time.perf_counter()
    value = step()
    return time.perf_counter() - start, value


def depth(containers: Mapping[Any, Sequence[Any]]) -> int:
    """Levels of the read graph: 1 + the longest chain of containers."""
    memo: dict[Any, int] = {}

    def level(node: Any) -> int:
        if node not in memo:
            memo[node] = 1 + max((level(d) for d in containers.get(node, ())), default=0)
        return memo[node]

    return max((level(node) for node in containers), default=0)


def replay_sequentially(base_url: str, entries: Sequence[JournalEntry]) -> float:
    """Send the journal's reads again, one after another, over plain HTTP; the wall time."""
    start = time.perf_counter()
    for entry in entries:
        if not is_read(entry):
            continue
        url = base_url + entry["path"] + (f"?{entry['query']}" if entry["query"] else "")
        body = b"{}" if entry["method"] == "POST" else None
        request = urllib.request.Request(
            url, data=body, method=entry["method"], headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request) as response:
                response.read()
        except urllib.error.HTTPError as error:  # a 404 read is still a read
            error.read()
    return time.perf_counter() - start


def load_average() -> list[float]:
    """The machine's 1, 5 and 15 minute load averages (other work skews the timings)."""
    return [round(x, 2) for x in os.getloadavg()]


def peak_rss_mb() -> float:
    """Peak resident set size of this process (tool and emulator together), in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def as_installed() -> dict[str, str]:
    """The environment for timing fresh CLI processes as a user runs them: compiled bytecode
    cached (a pip install writes it; `PYTHONDONTWRITEBYTECODE`, set in some shells and CI
    images, would make every start compile the package again, about 0.1 s)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def help_time(runs: int = 5) -> float | None:
    """Best wall time of `provision --help` in a fresh process, in seconds."""
    executable = shutil.which("provision", path=str(Path(sys.executable).parent))
    if executable is None:
        return None
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([executable, "--help"], capture_output=True, check=True, env=as_installed())
        best = min(best, time.perf_counter() - start)
    return round(best, 3)


def validate_time(runs: int = 5) -> float | None:
    """Best wall time of `provision validate blueprints/dev.yaml` in a fresh process."""
    executable = shutil.which("provision", path=str(Path(sys.executable).parent))
    blueprint = Path(__file__).resolve().parents[1] / "blueprints" / "dev.yaml"
    if executable is None or not blueprint.exists():
        return None
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            [executable, "validate", str(blueprint)],
            capture_output=True,
            check=True,
            env=as_installed(),
        )
        best = min(best, time.perf_counter() - start)
    return round(best, 3)


def conditions(latency_ms: float, own_process: bool, plan_repeats: int) -> dict[str, Any]:
    """How the figures were taken: load average (after the run; `main` adds the one before),
    cores, Python, emulator placement, latency."""
    return {
        "load_avg_after": load_average(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "emulator": "own process" if own_process else "in process",
        "latency_ms": latency_ms,
        "plan_repeats": plan_repeats,
        "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def emulator_start_time(runs: int = 5) -> float | None:
    """Best wall time from starting `provision emulator serve` in a fresh process to its first
    answer (`/_emulator/health`), in seconds."""
    executable = shutil.which("provision", path=str(Path(sys.executable).parent))
    if executable is None:
        return None
    best = float("inf")
    for _ in range(runs):
        port = emulators.free_port()
        start = time.perf_counter()
        process = subprocess.Popen(
            [executable, "emulator", "serve", "--port", str(port), "--quiet"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=as_installed(),
        )
        try:
            emulators.wait_healthy(f"http://127.0.0.1:{port}", process)
            best = min(best, time.perf_counter() - start)
        finally:
            process.terminate()
            process.wait(timeout=10)
    return round(best, 3)


def line_of(result: SizeResult, latency_ms: float) -> dict[str, Any]:
    line = asdict(result)
    line["latency_ms"] = latency_ms
    line["reads_per_object"] = round(result.reads_per_object, 3)
    line["cpu_ms_per_read"] = round(result.cpu_ms_per_read, 3)
    line["waves_over_depth"] = ratio(result.plan_read_waves, result.graph_depth)
    line["plan_over_lower_bound"] = ratio(result.plan_s, result.plan_lower_bound_s)
    line["sequential_over_plan"] = ratio(result.sequential_reads_s, result.plan_s)
    line["apply_over_critical_path"] = ratio(result.apply_empty_s, result.apply_critical_path_s)
    return line


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b else None


def targets(
    results: Sequence[SizeResult],
    help_s: float | None,
    start_s: float | None = None,
    validate_s: float | None = None,
    onboarded: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Whether each target was met (None when the run did not measure it)."""
    by_sites = {r.sites: r for r in results}
    one, hundred, three_hundred = by_sites.get(1), by_sites.get(100), by_sites.get(300)
    met: dict[str, bool | None] = {
        "plan_100_le_2x_plan_1": (hundred.plan_s <= 2 * one.plan_s if one and hundred else None),
        "plan_300_le_2.5x_plan_1": (
            three_hundred.plan_s <= 2.5 * one.plan_s if one and three_hundred else None
        ),
        "read_waves_300_le_2x_depth": (
            three_hundred.plan_read_waves <= 2 * three_hundred.graph_depth
            if three_hundred
            else None
        ),
        "plan_reads_le_1.1_per_object": all(r.reads_per_object <= 1.1 for r in results),
        "quota_plan_no_429": (
            all(r.quota_plan_429s == 0 for r in results if r.quota_plan_429s is not None)
            if any(r.quota_plan_429s is not None for r in results)
            else None
        ),
        "apply_100_le_3x_critical_path": (
            hundred.apply_empty_s <= 3 * hundred.apply_critical_path_s if hundred else None
        ),
        "noop_apply_zero_writes": all(r.noop_apply_writes == 0 for r in results),
    }
    if onboarded:
        met["operations_noticed_in_time"] = all(o["operations_within_bound"] for o in onboarded)
        met["polls_le_schedule_needs"] = all(o["polls_within_need"] for o in onboarded)
        met["onboarding_no_429"] = all(o["status_429"] == 0 for o in onboarded)
    if help_s is not None:
        met["help_le_0.3s"] = help_s <= 0.3
    if validate_s is not None:
        met["validate_le_0.4s"] = validate_s <= 0.4
    if start_s is not None:
        met["emulator_start_le_2s"] = start_s <= 2.0
    return {"targets": met}


if __name__ == "__main__":
    raise SystemExit(main())
