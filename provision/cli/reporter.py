"""Printing apply progress on stderr (what runs, for how long, how it ended)."""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from provision.apply import ChangeResult
    from provision.gcp.operations import Progress
    from provision.model import Change

VERBS = {"create": "creating", "update": "updating", "delete": "deleting", "run": "running"}


class StderrReporter:
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self._lock = threading.Lock()

    def _say(self, text: str) -> None:
        with self._lock:
            print(text, file=self.stream, flush=True)

    def started(self, change: Change) -> None:
        self._say(f"{change.address}: {VERBS.get(change.action.value, change.action.value)}...")

    def progress(self, change: Change, progress: Progress) -> None:
        state = "finished" if progress.done else "still"
        self._say(f"{change.address}: {state} {progress.what} ({progress.elapsed:.0f}s elapsed)")

    def finished(self, change: Change, result: ChangeResult) -> None:
        from provision.graph import State

        if result.state is State.DONE:
            self._say(f"{change.address}: {change.action.value} done ({result.seconds:.1f}s)")
        elif result.interrupted:
            self._say(f"{change.address}: interrupted: {result.message}")
        elif result.state is State.FAILED:
            self._say(f"{change.address}: FAILED: {result.message}")
        else:
            self._say(f"{change.address}: {result.state.value} ({result.message})")
