"""Reads a plan makes ahead, in the background, for the objects that would each make them.

A scan that lists many of the plan's objects (a location's datasets, a project's buckets) can
read what each of those objects will ask for next (their IAM policies, their store lists) in a
few batched requests. `in_background` claims the memo keys of those reads first
(`Context.claim`): each object's read then waits for its own answer, not for the whole batch, and
reads for itself what the batches did not answer (an error included, which it then reports
against its own address).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from provision.resources.base import Context

log = logging.getLogger("provision.plan")


def in_background(ctx: Context, keys: Sequence[str], reads: Callable[[], None], what: str) -> None:
    """Claim `keys`, run `reads` (which `remember`s answers under them) on a thread of its own,
    then release whatever it did not answer. A failure of `reads` is only logged: the objects
    read on their own."""
    ctx.claim(keys)

    def run() -> None:
        try:
            reads()
        except Exception as error:  # each object reads what was not answered, and fails there
            log.debug("%s stopped: %s", what, error)
        finally:
            ctx.release(keys)

    threading.Thread(target=run, name=f"provision-{what}", daemon=True).start()
