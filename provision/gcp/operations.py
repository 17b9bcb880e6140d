"""Waiting for long-running operations (CRM, Service Usage, Healthcare) and for conditions.

Operations already `done` (e.g. Service Usage's `operations/noop.DONE_OPERATION`) are never
polled. Polls follow the time already waited (`poll_delays`): the next poll comes after a fixed
fraction of the elapsed time (with a short first poll and a cap), so an operation is noticed
within about that fraction of its duration, with a number of polls that grows only with the
logarithm of the duration. A finished operation with `error` becomes a GoogleApiError;
`progress` is told what is running and for how long.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from provision.errors import GoogleApiError, RunInterruptedError
from provision.gcp.errors import from_operation_error
from provision.gcp.methods import (
    HEALTHCARE_OPERATIONS,
    RESOURCE_MANAGER_OPERATIONS,
    SERVICE_USAGE_OPERATIONS,
)
from provision.gcp.retry import sleep
from provision.gcp.settings import PollPolicy

JSON = dict[str, Any]


@dataclass(frozen=True)
class Progress:
    """A progress report: `what` has been running for `elapsed` seconds."""

    what: str
    elapsed: float
    done: bool = False


ProgressFn = Callable[[Progress], None]


class OperationTimeoutError(GoogleApiError):
    """An operation or condition did not finish within its deadline."""


OPERATION_POLLERS: dict[str, str] = {
    "healthcare": f"{HEALTHCARE_OPERATIONS}.get",
    "cloudresourcemanager": f"{RESOURCE_MANAGER_OPERATIONS}.get",
    "serviceusage": f"{SERVICE_USAGE_OPERATIONS}.get",
}
"""The discovery method that polls the operations each API issues."""


def operation_get_method(name: str, api: str) -> str:
    """The discovery method id that polls operation `name` issued by `api` (a dataset's
    operations are Healthcare's whichever call started them)."""
    poller = OPERATION_POLLERS.get("healthcare" if "/datasets/" in name else api)
    if poller is None:
        raise ValueError(f"no operation poller for API {api!r}")
    return poller


def poll_delays(
    policy: PollPolicy,
    rng: random.Random | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Callable[[], float]:
    """Successive poll delays for one wait that starts now: `policy.fraction` of the time
    elapsed since this call, at least `policy.initial_delay` and at most `policy.max_delay`,
    shortened by up to 10% at random (so waits that started together do not poll together, and
    a delay never exceeds its fraction of the elapsed time).

    An operation that finishes at `D` seconds is therefore noticed by `D * (1 + fraction)` at the
    latest (or `initial_delay` after it finished, for short ones), after about
    `log(D / initial_delay) / log(1 + fraction)` polls.
    """
    start = clock()
    draw = (rng or random.Random()).random

    def next_delay() -> float:
        elapsed = clock() - start
        base = min(policy.max_delay, max(policy.initial_delay, elapsed * policy.fraction))
        return base * (0.9 + 0.1 * draw())

    return next_delay


def wait_operation(
    operation: JSON,
    *,
    get: Callable[[str], JSON],
    what: str,
    policy: PollPolicy,
    method: str = "",
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> JSON:
    """Poll `operation` with `get(name)` until done; return the finished operation.

    Raises GoogleApiError for a failed operation and OperationTimeoutError past the deadline.
    """
    start = clock()
    next_delay = poll_delays(policy, clock=clock)
    last_report = start
    current = operation
    while not current.get("done"):
        name = current.get("name")
        if not isinstance(name, str) or not name:
            raise GoogleApiError(500, "INTERNAL", f"{what}: operation has no name", method=method)
        elapsed = clock() - start
        if elapsed > policy.deadline:
            raise OperationTimeoutError(
                504,
                "DEADLINE_EXCEEDED",
                f"{what}: operation {name} still running after {elapsed:.0f}s",
                method=method,
            )
        try:
            sleep(next_delay(), cancel)
            current = get(name)
        except RunInterruptedError:
            raise RunInterruptedError(
                f"interrupted while waiting for {what} (operation {name}); the operation may "
                "still complete on Google, and the next apply picks it up"
            ) from None
        now = clock()
        if progress is not None and now - last_report >= policy.progress_every:
            last_report = now
            progress(Progress(what, now - start))
    if progress is not None and clock() - start >= policy.progress_every:
        progress(Progress(what, clock() - start, done=True))
    error = current.get("error")
    if isinstance(error, dict):
        raise from_operation_error(error, method=method or what)
    return current


def wait_until(
    check: Callable[[], bool],
    *,
    what: str,
    policy: PollPolicy,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> float:
    """Call `check` with bounded backoff until it returns True; return the seconds waited.

    For eventual consistency (an enabled API listed as enabled, a service agent appearing):
    no fixed sleeps, the first check happens at once.
    """
    start = clock()
    next_delay = poll_delays(policy, clock=clock)
    last_report = start
    while not check():
        elapsed = clock() - start
        if elapsed > policy.deadline:
            raise OperationTimeoutError(
                504, "DEADLINE_EXCEEDED", f"{what}: not reached after {elapsed:.0f}s"
            )
        try:
            sleep(next_delay(), cancel)
        except RunInterruptedError:
            raise RunInterruptedError(
                f"interrupted while waiting for {what}; what was asked may still complete on "
                "Google, and the next apply picks it up"
            ) from None
        now = clock()
        if progress is not None and now - last_report >= policy.progress_every:
            last_report = now
            progress(Progress(what, now - start))
    return clock() - start
