"""The request journal: what was asked, what was answered, how long it took."""

from __future__ import annotations

import threading
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Entry:
    method: str
    """HTTP verb."""
    path: str
    query: str
    status: int
    api: str
    method_id: str
    mutating: bool
    ms: float
    start: float
    """Wall-clock start time (seconds since the epoch)."""
    injected: str = ""
    """Which fault was injected, if any (`before-commit`, `after-commit`, `reset`, `quota`)."""
    in_batch: bool = False
    """A call inside a batch (the batch itself is journaled after its calls)."""


_FIELDS = tuple(field.name for field in fields(Entry))


class Journal:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[Entry] = []

    def append(self, entry: Entry) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[Entry]:
        with self._lock:
            return list(self._entries)

    def to_json(self) -> list[dict[str, Any]]:
        """Every entry as a dict of its fields (all plain values, so no copying is needed)."""
        return [{name: getattr(entry, name) for name in _FIELDS} for entry in self.entries()]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
