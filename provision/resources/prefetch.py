"""Reads a plan makes ahead, in the background, for the objects that would each make them.

A scan of many of the plan's objects (a location's datasets, a project's buckets) can read what each
of those objects will ask for next (their IAM policies, their store lists) in a few batched
requests: a location's as it sends its list, for the datasets the plan declares there; a project's
buckets' after its list, for the listed ones (bucket names are global). `in_background` claims the
memo keys of those reads first (see `SharedReads.claim`): each object's read then waits for its own
answer, not for the whole batch, and reads for itself what the batches did not answer (an error
included, which it then reports against its own address). The plan ends only once those reads have
(`SharedReads.join`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from provision.errors import GoogleApiError, ProvisionError
from provision.model import JSON
from provision.resources.base import Claim, Context

log = logging.getLogger("provision.plan")

Answered = Callable[[int, list[JSON | GoogleApiError]], None]
"""What `GoogleApi.batch` tells as each batched request's answers arrive."""


def in_background(
    ctx: Context, keys: Sequence[str], reads: Callable[[Claim], None], what: str
) -> None:
    """While planning: claim `keys`, run `reads(claim)` (which answers them with
    `ctx.remember`, see `remembering`) on a thread of its own, then release whatever it did not
    answer. A failure of `reads` only means the objects read on their own; one that is not a
    ProvisionError is logged as a warning. Without a thread to spare, `reads` runs here."""
    shared = ctx.shared_reads
    if shared is None:
        return
    claim = shared.claim(keys)

    def run() -> None:
        try:
            reads(claim)
        except ProvisionError as error:
            log.debug("%s stopped: %s", what, error)
        except Exception:  # the objects read on their own, but this is a bug
            log.warning("%s failed; each object is read on its own", what, exc_info=True)
        finally:
            claim.release()

    thread = threading.Thread(target=run, name=f"provision-{what}", daemon=True)
    try:
        thread.start()
    except RuntimeError:  # e.g. "can't start new thread"
        run()
        return
    except BaseException:
        claim.release()
        raise
    shared.keep(thread)


def remembering(
    ctx: Context,
    claim: Claim,
    keys: Sequence[str],
    answer_of: Callable[[JSON], JSON | None] | None = None,
) -> Answered:
    """The `answered` of a batch whose call `i` reads what the memo key `keys[i]` stands for:
    each answer is remembered under its key (as `answer_of` makes it, when given; None: not
    remembered), and the claim of a key not remembered (an error) is let go at once."""

    def answered(first: int, answers: list[JSON | GoogleApiError]) -> None:
        unanswered = []
        for key, answer in zip(keys[first:], answers, strict=False):
            value = None
            if not isinstance(answer, GoogleApiError):
                value = answer if answer_of is None else answer_of(answer)
            if value is None:
                unanswered.append(key)
            else:
                ctx.remember(key, value)
        claim.release(unanswered)

    return answered
