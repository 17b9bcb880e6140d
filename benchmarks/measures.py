"""Pure figures derived from the emulator's request journal and from apply timings.

Reads are API calls, whether sent alone or inside a Cloud Storage batch; a batch's own entry
is a round trip, not a read. Read waves count round trips: a read's wave (a batch counts as one
read, its calls as none) is 1 + the highest wave among the reads that had *finished* before it
started (0 when none had). The number of waves is the longest chain of reads that ran one after
another, i.e. how many round trips a run really waited for in sequence. It equals the
dependency depth when reads are limited only by dependencies, and grows when reads queue
for a worker. `waves * latency` is a lower bound of the wall time of the reads.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

JournalEntry = Mapping[str, Any]


@dataclass(frozen=True)
class Requests:
    reads: int
    writes: int
    duplicate_reads: int
    """Reads of a (method, path, query) already read in the same run."""
    batches: int = 0
    """Cloud Storage batches (each carries several of the reads)."""
    batched: int = 0
    """Reads carried by a batch."""

    @property
    def read_round_trips(self) -> int:
        """HTTP requests made for the reads: each batch once, with the reads sent alone."""
        return self.reads - self.batched + self.batches


def is_batch(entry: JournalEntry) -> bool:
    """The entry of a batch itself (its calls have entries of their own)."""
    return entry.get("method_id") == "batch" and not entry.get("in_batch")


def is_read(entry: JournalEntry) -> bool:
    return not entry["mutating"] and not is_batch(entry)


def count_requests(entries: Sequence[JournalEntry]) -> Requests:
    reads = [e for e in entries if is_read(e)]
    keys = [(e["method"], e["path"], e["query"]) for e in reads]
    return Requests(
        reads=len(reads),
        writes=sum(1 for e in entries if e["mutating"]),
        duplicate_reads=len(keys) - len(set(keys)),
        batches=sum(1 for e in entries if is_batch(e)),
        batched=sum(1 for e in reads if e.get("in_batch")),
    )


def read_waves(entries: Sequence[JournalEntry]) -> int:
    """The number of read waves (see the module docstring)."""
    spans = sorted(
        (float(e["start"]), float(e["start"]) + float(e["ms"]) / 1000.0)
        for e in entries
        if not e["mutating"] and not e.get("in_batch")
    )
    ended: list[float] = []  # end times, sorted
    best_at: list[int] = []  # best_at[i] = highest wave among reads ending at or before ended[i]
    deepest = 0
    for start, end in spans:
        index = bisect.bisect_right(ended, start)
        wave = (best_at[index - 1] if index else 0) + 1
        deepest = max(deepest, wave)
        position = bisect.bisect_right(ended, end)
        ended.insert(position, end)
        before = best_at[position - 1] if position else 0
        best_at.insert(position, max(before, wave))
        for later in range(position + 1, len(best_at)):
            if best_at[later] >= wave:
                break
            best_at[later] = wave
    return deepest


def critical_path(seconds: Mapping[str, float], depends_on: Mapping[str, Iterable[str]]) -> float:
    """The longest chain of dependent steps, summing each step's own duration."""
    longest: dict[str, float] = {}

    def finish(node: str, path: frozenset[str]) -> float:
        if node in longest:
            return longest[node]
        if node in path:
            raise ValueError(f"dependency cycle through {node}")
        before = [finish(d, path | {node}) for d in depends_on.get(node, ()) if d in seconds]
        longest[node] = seconds[node] + max(before, default=0.0)
        return longest[node]

    return max((finish(node, frozenset()) for node in seconds), default=0.0)
