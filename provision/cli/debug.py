"""`provision --debug`: the tool's own log on stderr, including one line per Google request.

Each request line is `METHOD URL -> STATUS (MS ms)` from `provision.gcp` at DEBUG; retries are
logged at INFO. The trace carries no headers and no bodies, and credentials that may appear in
a query string are redacted, so tokens and keys never reach it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _CurrentStderr(logging.Handler):
    """Writes to whatever `sys.stderr` is at the time of each record."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            print(self.format(record), file=sys.stderr, flush=True)
        except Exception:  # logging must never break the command
            self.handleError(record)


def enable_debug() -> Callable[[], None]:
    """Send the `provision` loggers' records of every level to stderr; returns the undo."""
    logger = logging.getLogger("provision")
    handler = _CurrentStderr()
    handler.setFormatter(logging.Formatter(_FORMAT))
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)

    def undo() -> None:
        logger.removeHandler(handler)
        logger.setLevel(previous)

    return undo
