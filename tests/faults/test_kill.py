"""`provision apply` killed with SIGKILL at a request boundary, then run again, converges: the
second run reports no error, the world equals the undisturbed one and nothing is duplicated.

The apply runs as a real process (`python -m provision.cli apply --yes`) against the emulator;
the test watches the emulator's journal and kills the process as soon as the k-th request has
been answered by the emulator (committed, whether or not the answer reached the client). A few
kill points run in `make test`; every boundary runs with `make faults`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from provision.emulator.server import RunningEmulator
from tests.e2e.cli import FAST_ENV, run_cli
from tests.faults import harness
from tests.faults.conftest import Baseline

LATENCY_MS = 15
"""Emulator latency while the process to kill runs, so each boundary can be caught."""


def cli_process(emulator: RunningEmulator, *args: str | Path) -> subprocess.Popen[bytes]:
    """`provision ARGS` as a real process against the emulator (fast retry timing)."""
    env = {**os.environ, **FAST_ENV, "PROVISION_ENDPOINT": emulator.base_url}
    return subprocess.Popen(
        [sys.executable, "-m", "provision.cli", *map(str, args)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def apply_process(blueprint: Path, emulator: RunningEmulator) -> subprocess.Popen[bytes]:
    return cli_process(emulator, "apply", blueprint, "--yes")


def kill_once_it_holds_the_lease(
    process: subprocess.Popen[bytes], emulator: RunningEmulator
) -> None:
    """SIGKILL `process` as soon as the emulator has answered its first write of the lease."""
    deadline = time.monotonic() + 60
    while not any(
        e.mutating and "provision-locks" in e.path + e.query
        for e in emulator.world.journal.entries()
    ):
        assert process.poll() is None and time.monotonic() < deadline, "never took the lease"
        time.sleep(0.0005)
    process.send_signal(signal.SIGKILL)
    process.wait()


def kill_after(process: subprocess.Popen[bytes], emulator: RunningEmulator, k: int) -> bool:
    """SIGKILL `process` once the emulator has answered `k` requests; False if it finished
    first."""
    deadline = time.monotonic() + 60
    while len(emulator.world.journal.entries()) < k:
        if process.poll() is not None or time.monotonic() > deadline:
            process.wait()
            return False
        time.sleep(0.0005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return process.returncode == -signal.SIGKILL


def kill_points(total: int) -> tuple[list[int], list[int]]:
    """(fast, slow): three boundaries spread over the run, and all the others."""
    fast = sorted({max(1, total * n // 4) for n in (1, 2, 3)})
    return fast, [k for k in range(1, total) if k not in fast]


@pytest.mark.parametrize("which", ["fast", pytest.param("slow", marks=pytest.mark.slow)])
def test_apply_killed_at_a_request_boundary_converges_on_the_next_run(
    which: str, emulator: RunningEmulator, blueprint: Path, baseline: Baseline
) -> None:
    fast, slow = kill_points(baseline.requests)
    points = fast if which == "fast" else slow
    failures: list[str] = []
    for k in points:
        harness.reset(emulator, latency_ms=LATENCY_MS)
        killed = kill_after(apply_process(blueprint, emulator), emulator, k)
        harness.control(emulator, "settings", {"latency_ms": 0})
        answered = len(emulator.world.journal.entries())
        rerun = harness.apply(blueprint, emulator)
        survived = rerun.exit_code == 0 and "error" not in rerun.output.lower()
        difference = harness.state_difference(harness.normalised_state(emulator), baseline.state)
        duplicated = harness.duplicates(emulator, baseline.state)
        harness.FIGURES.add(
            runs=2,
            kills=int(killed),
            kills_survived=int(killed and survived and not difference and not duplicated),
            duplicate_objects=len(duplicated),
        )
        if not survived or difference or duplicated:
            failures.append(
                f"killed after request {k} ({answered} answered): exit {rerun.exit_code}\n"
                f"{rerun.output}\n" + "\n".join(difference + duplicated)
            )
    assert failures == [], "\n\n".join(failures)


@pytest.mark.slow
def test_apply_killed_while_holding_the_lease_converges_on_the_next_run(
    emulator: RunningEmulator, blueprint: Path
) -> None:
    harness.reset(emulator)
    assert harness.apply(blueprint, emulator).exit_code == 0  # the lease's bucket exists now
    text = blueprint.read_text(encoding="utf-8")
    blueprint.write_text(
        text.replace(
            "      - group:imaging-team@example.com\n",
            "      - group:imaging-team@example.com\n      - user:after-kill@example.com\n",
            1,
        ),
        encoding="utf-8",
    )
    harness.control(emulator, "settings", {"latency_ms": LATENCY_MS})
    emulator.world.journal.clear()
    kill_once_it_holds_the_lease(apply_process(blueprint, emulator), emulator)
    harness.control(emulator, "settings", {"latency_ms": 0})
    rerun = harness.apply(blueprint, emulator)
    assert rerun.exit_code == 0, rerun.output


@pytest.mark.parametrize("command", ["destroy", "onboard"])
def test_destroy_or_onboard_killed_holding_the_lease_is_finished_by_the_rerun(
    command: str, emulator: RunningEmulator, blueprint: Path
) -> None:
    """The rerun takes the dead run's lease over at once, plans again under it (the dead run
    may have changed the project) and finishes the job."""
    harness.reset(emulator)
    assert harness.apply(blueprint, emulator).exit_code == 0  # the lease's bucket exists now
    args: list[str | Path]
    if command == "destroy":
        args = ["destroy", blueprint, "--site", "general", "--yes"]
    else:
        args = ["onboard", "st-marys", "--blueprint", blueprint, "--yes"]
    harness.control(emulator, "settings", {"latency_ms": LATENCY_MS})
    emulator.world.journal.clear()
    kill_once_it_holds_the_lease(cli_process(emulator, *args), emulator)
    harness.control(emulator, "settings", {"latency_ms": 0})
    rerun = run_cli(*args, env={"PROVISION_ENDPOINT": emulator.base_url})
    harness.FIGURES.add(runs=2, kills=1, kills_survived=int(rerun.exit_code == 0))
    assert rerun.exit_code == 0, rerun.output
    assert ": its process is gone)" in rerun.stderr
    again = run_cli(*args, env={"PROVISION_ENDPOINT": emulator.base_url})
    assert again.exit_code == 0, again.output
    if command == "destroy":
        assert "Nothing to remove." in again.stdout
    else:
        assert "No changes." in again.stdout
