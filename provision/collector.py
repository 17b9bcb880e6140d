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
from collections.abc import Iterator
from contextlib import contextmanager

THRESHOLDS = (20_000, 20, 20)
"""New containers before a young collection; young collections before a middle one; middle
ones before a full one (CPython's defaults: 700, 10, 10)."""


def raise_thresholds() -> tuple[int, int, int]:
    """Collect no more often than `THRESHOLDS`; returns the thresholds before."""
    before = gc.get_threshold()
    gc.set_threshold(*(max(now, wanted) for now, wanted in zip(before, THRESHOLDS, strict=True)))
    return before


@contextmanager
def collected_less_often() -> Iterator[None]:
    """`THRESHOLDS` while the body runs, then the thresholds before."""
    before = raise_thresholds()
    try:
        yield
    finally:
        gc.set_threshold(*before)
