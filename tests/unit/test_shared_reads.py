"""The plan's read memo with claims: a claimed read waits for the answer another read brings,
or reads for itself once the claim is let go (`SharedReads`, `prefetch.in_background`)."""

from __future__ import annotations

import threading

import pytest

from provision.errors import GoogleApiError
from provision.resources import prefetch
from provision.resources.base import Claim, Context, SharedReads


def read_in_thread(reads: SharedReads, key: str, own: str) -> tuple[threading.Thread, list[str]]:
    """A thread reading `key` (its own read answers `own`), started and already asking."""
    got: list[str] = []
    asking = threading.Event()

    def read() -> None:
        asking.set()
        got.append(reads.get(key, lambda: own))

    thread = threading.Thread(target=read)
    thread.start()
    asking.wait(timeout=5)
    return thread, got


def test_a_claimed_read_waits_for_the_remembered_answer() -> None:
    reads = SharedReads()
    reads.claim(["a"])
    thread, got = read_in_thread(reads, "a", "own read")
    thread.join(timeout=0.1)
    assert thread.is_alive() and got == []  # waiting, not reading
    reads.remember("a", "batched")
    thread.join(timeout=5)
    assert got == ["batched"]


def test_a_released_claim_lets_the_read_read_for_itself() -> None:
    reads = SharedReads()
    claim = reads.claim(["a", "b"])
    reads.remember("a", "batched")
    thread, got = read_in_thread(reads, "b", "own read")
    claim.release()  # "a" was answered; only "b" is still held
    thread.join(timeout=5)
    assert got == ["own read"]
    assert reads.get("a", lambda: "unused") == "batched"


def test_a_claim_releases_only_the_keys_it_took() -> None:
    reads = SharedReads()
    first = reads.claim(["a"])
    second = reads.claim(["a", "b"])  # "a" is the first claim's
    second.release()
    thread, got = read_in_thread(reads, "a", "own read")
    thread.join(timeout=0.1)
    assert thread.is_alive()  # still the first claim's
    first.release()
    thread.join(timeout=5)
    assert got == ["own read"]


def test_a_known_key_is_not_claimed() -> None:
    reads = SharedReads()
    reads.remember("a", "listed")
    reads.claim(["a"])
    assert reads.get("a", lambda: "own read") == "listed"  # would block if claimed


def test_an_error_in_a_batch_lets_its_object_read_at_once() -> None:
    reads = SharedReads()
    ctx = Context(api=None, facts=None, shared_reads=reads)  # type: ignore[arg-type]
    claim = reads.claim(["a", "b"])
    answered = prefetch.remembering(ctx, claim, ["a", "b"])
    answered(0, [{"etag": "x"}, GoogleApiError(403, "PERMISSION_DENIED", "no", method="m")])
    assert reads.get("b", lambda: "own read") == "own read"  # released, not waiting for more
    assert reads.get("a", lambda: "own read") == {"etag": "x"}


def test_background_reads_that_cannot_get_a_thread_run_inline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads = SharedReads()
    ctx = Context(api=None, facts=None, shared_reads=reads)  # type: ignore[arg-type]

    def no_thread(thread: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", no_thread)

    def read_all(claim: Claim) -> None:
        prefetch.remembering(ctx, claim, ["a"])(0, [{"etag": "x"}])

    prefetch.in_background(ctx, ["a", "b"], read_all, "test")
    assert reads.get("a", lambda: "own read") == {"etag": "x"}
    assert reads.get("b", lambda: "own read") == "own read"  # released, not left claimed
