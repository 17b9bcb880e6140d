"""Failing, instead of hanging, when code blocks (e.g. on a FIFO opened for reading)."""

from __future__ import annotations

import threading
from collections.abc import Callable


def finishes(work: Callable[[], None], seconds: float = 10.0) -> None:
    """Run `work` on a daemon thread; fail when it blocks (a FIFO opened for reading)."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "blocked"
    if errors:
        raise errors[0]
