"""The cyclic garbage collector while provision works: run less often.

A plan or an apply allocates mostly acyclic objects (JSON answers, changes), which reference
counting frees as they go. At CPython's default thresholds (a collection every 700 new
containers) the collector also runs hundreds of times in a large plan and now and then traverses
every object the process holds, the client libraries' discovery documents included: in a
300-site plan such a pass held every thread for about 100 ms, on the plan's critical path.
`collected_less_often` raises the thresholds for a run; cycles are still collected, later.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

THRESHOLDS = (20_000, 20, 20)
"""New containers before a young collection; young collections before a middle one; middle
ones before a full one (CPython's defaults: 700, 10, 10)."""


class _Runs:
    """How many runs want fewer collections now, and the thresholds found by the first."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.before: tuple[int, int, int] = gc.get_threshold()


_RUNS = _Runs()


def _raised(now: tuple[int, int, int]) -> tuple[int, int, int]:
    """`now`, each threshold at least `THRESHOLDS`'s; a collector turned off (a youngest
    threshold of 0) stays off."""
    first, second, third = (
        max(current, wanted) for current, wanted in zip(now, THRESHOLDS, strict=True)
    )
    return (0 if now[0] == 0 else first), second, third


@contextmanager
def collected_less_often() -> Iterator[None]:
    """`THRESHOLDS` while the body runs. Runs may overlap (threads, nested graphs): the first
    to start raises the thresholds, the last to end puts back what it found."""
    with _RUNS.lock:
        if _RUNS.count == 0:
            _RUNS.before = gc.get_threshold()
            gc.set_threshold(*_raised(_RUNS.before))
        _RUNS.count += 1
    try:
        yield
    finally:
        with _RUNS.lock:
            _RUNS.count -= 1
            if _RUNS.count == 0:
                gc.set_threshold(*_RUNS.before)
