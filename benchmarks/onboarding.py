"""Onboarding under the emulator's `google` profile: how long applying N sites from nothing takes
when requests, operations and propagation take about as long as on Google, against the time the
operations themselves take, and how late the tool notices each finished operation.

Per N the emulator (its own process) is reset to the profile (`--google-scale` shortens every
duration for quick runs, not the latencies), the blueprint of `benchmarks.generate` is planned
and applied with the tool's production timing (pacing on: the profile enforces Google's
quotas), and the emulator's operation timings (`GET /_emulator/operations`) give, per operation:
its duration, the overshoot (from the moment it was done to the arrival of the poll that found
it done) and its polls, against the polls the tool's schedule needs for that duration.

The apply is compared with two critical paths of its dependency graph: each change taking the
time it took (`apply_critical_path_s`), and each change taking that time less the overshoot of
the operations it waited for (`operations_critical_path_s`: what a tool noticing every
operation the moment it finished would take, the time no tool can beat on this profile).
"""

from __future__ import annotations

import random
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import emulators
from benchmarks.generate import write_blueprint
from benchmarks.measures import count_requests, critical_path
from provision.apply import MUTATING, ChangeResult, apply_plan
from provision.blueprint.loader import load
from provision.emulator.core.profiles import profile_settings
from provision.gcp.api import GoogleApi
from provision.gcp.credentials import Target
from provision.gcp.operations import Progress, poll_delays
from provision.gcp.settings import PollPolicy, Timing
from provision.model import Change
from provision.plan import plan_blueprint
from provision.resources.base import Context, Options

SHORT_OPERATION_S = 1.0
"""Operations shorter than this are held to an absolute overshoot bound, longer ones to a
fraction of their duration."""
OVERSHOOT_FRACTION = 0.10
SHORT_OVERSHOOT_S = 0.5


@dataclass
class Windows:
    """The apply engine's reporter, recording when each change started (wall clock, as the
    emulator's timings) and how long it took."""

    began: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def started(self, change: Change) -> None:
        with self.lock:
            self.began[str(change.address)] = time.time()

    def progress(self, change: Change, progress: Progress) -> None:
        return None

    def finished(self, change: Change, result: ChangeResult) -> None:
        with self.lock:
            self.seconds[str(change.address)] = result.seconds


class _Shortest(random.Random):
    """Jitter draws that always shorten a delay the most."""

    def random(self) -> float:
        return 0.0


def polls_needed(duration: float, policy: PollPolicy) -> int:
    """The most polls the tool's schedule makes for an operation of `duration` seconds: each
    poll answering at once and each delay shortened by the full jitter (real polls take a round
    trip, so they are never more)."""
    now = {"t": 0.0}
    next_delay = poll_delays(policy, _Shortest(), clock=lambda: now["t"])
    polls = 0
    while True:
        now["t"] += next_delay()
        polls += 1
        if now["t"] >= duration:
            return polls


def operation_figures(
    operations: Sequence[Mapping[str, Any]], policy: PollPolicy
) -> list[dict[str, Any]]:
    """Per polled operation: method, seconds, overshoot_s, polls, polls_needed, within_bound."""
    figures = []
    for op in operations:
        if op.get("forcedDone") or op.get("noticed") is None:
            continue
        seconds = float(op["seconds"])
        done_at = float(op["created"]) + seconds
        overshoot = max(0.0, float(op["noticed"]) - done_at)
        bound = SHORT_OVERSHOOT_S if seconds < SHORT_OPERATION_S else OVERSHOOT_FRACTION * seconds
        figures.append(
            {
                "name": op["name"],
                "method": op["method"],
                "seconds": round(seconds, 3),
                "overshoot_s": round(overshoot, 3),
                "overshoot_ratio": round(overshoot / seconds, 3) if seconds else None,
                "polls": int(op["polls"]),
                "polls_needed": polls_needed(seconds, policy),
                "within_bound": overshoot <= bound,
            }
        )
    return figures


def attribute(
    operations: Sequence[Mapping[str, Any]], windows: Windows, slack_s: float = 0.05
) -> dict[str, list[str]]:
    """Address -> names of the operations it waited for: each operation goes to the change whose
    window holds its start and the poll that found it done, ending soonest after that poll."""
    ends = {a: windows.began[a] + s for a, s in windows.seconds.items() if a in windows.began}
    owned: dict[str, list[str]] = {}
    for op in operations:
        if op.get("noticed") is None:
            continue
        created, noticed = float(op["created"]), float(op["noticed"])
        candidates = [
            (ends[a] - noticed, a)
            for a in ends
            if windows.began[a] - slack_s <= created and noticed <= ends[a] + slack_s
        ]
        if candidates:
            owned.setdefault(min(candidates)[1], []).append(str(op["name"]))
    return owned


def measure(
    running: emulators.Emulator,
    directory: Path,
    sites: int,
    *,
    scale: float,
    timing: Timing,
) -> dict[str, Any]:
    """Plan and apply `sites` sites from nothing under the google profile; the figures."""
    running.reset(profile_settings("google", time_scale=scale))
    loaded = load(write_blueprint(directory, sites))
    api = GoogleApi(Target(endpoint=running.base_url, label="emulator"), timing)
    ctx = Context.create(api, Options(caller=api.identity.member))
    plan = plan_blueprint(loaded, ctx)
    running.clear_journal()
    windows = Windows()
    start = time.perf_counter()
    report = apply_plan(plan, ctx, reporter=windows)
    apply_s = time.perf_counter() - start
    if not report.ok:
        failed = [f"{r.address}: {r.message}" for r in report.results if r.message][:3]
        raise RuntimeError(f"onboarding of {sites} sites failed: {report.summary()} {failed}")
    journal = running.journal()
    operations = running.operations()
    figures = operation_figures(operations, timing.poll)
    overshoot = {f["name"]: f["overshoot_s"] for f in figures}
    seconds = {str(r.address): r.seconds for r in report.results if r.action in MUTATING}
    deps = {str(c.address): [str(d) for d in c.depends_on] for c in plan.changes}
    owned = attribute(operations, windows)
    ideal = {
        a: max(0.0, s - sum(overshoot.get(name, 0.0) for name in owned.get(a, [])))
        for a, s in seconds.items()
    }
    path_s = critical_path(seconds, deps)
    ops_path_s = critical_path(ideal, deps)
    requests = count_requests(journal)
    long_ops = [f for f in figures if f["seconds"] >= SHORT_OPERATION_S]
    short_ops = [f for f in figures if f["seconds"] < SHORT_OPERATION_S]
    return {
        "sites": sites,
        "google_scale": scale,
        "apply_s": round(apply_s, 3),
        "apply_critical_path_s": round(path_s, 3),
        "operations_critical_path_s": round(ops_path_s, 3),
        "apply_over_operations_path": round(apply_s / ops_path_s, 2) if ops_path_s else None,
        "writes": requests.writes,
        "reads": requests.reads,
        "status_429": sum(1 for e in journal if e["status"] == 429),
        "operations": len(figures),
        "max_overshoot_ratio_long": max((f["overshoot_ratio"] for f in long_ops), default=None),
        "max_overshoot_s_short": max((f["overshoot_s"] for f in short_ops), default=None),
        "operations_within_bound": all(f["within_bound"] for f in figures),
        "polls": sum(f["polls"] for f in figures),
        "polls_needed": sum(f["polls_needed"] for f in figures),
        "polls_within_need": all(f["polls"] <= f["polls_needed"] + 1 for f in figures),
        "by_operation": figures,
    }


def run(
    sizes: Sequence[int],
    *,
    scale: float = 1.0,
    timing: Timing | None = None,
    emit: Callable[[dict[str, Any]], None],
) -> list[dict[str, Any]]:
    """Onboard each size in `sizes` under the google profile; emit and return the figures."""
    results = []
    with (
        emulators.started(0.0, own_process=True) as running,
        tempfile.TemporaryDirectory() as scratch,
    ):
        for sites in sizes:
            result = measure(
                running, Path(scratch) / f"g{sites}", sites, scale=scale, timing=timing or Timing()
            )
            results.append(result)
            emit(result)
    return results
