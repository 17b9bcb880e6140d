"""The plan's read memo with claims: a claimed read waits for the answer another read brings,
or reads for itself once the claim is let go (`SharedReads`, `prefetch.in_background`)."""

from __future__ import annotations

import gc
import threading
import time

from provision.collector import THRESHOLDS
from provision.graph import run_graph
from provision.resources.base import SharedReads


def read_in_thread(reads: SharedReads, key: str, own: str) -> tuple[threading.Thread, list[str]]:
    got: list[str] = []
    thread = threading.Thread(target=lambda: got.append(reads.get(key, lambda: own)))
    thread.start()
    return thread, got


def test_a_claimed_read_waits_for_the_remembered_answer() -> None:
    reads = SharedReads()
    reads.claim(["a"])
    thread, got = read_in_thread(reads, "a", "own read")
    time.sleep(0.05)
    assert thread.is_alive() and got == []  # waiting, not reading
    reads.remember("a", "batched")
    thread.join(timeout=5)
    assert got == ["batched"]


def test_a_released_claim_lets_the_read_read_for_itself() -> None:
    reads = SharedReads()
    reads.claim(["a", "b"])
    reads.remember("a", "batched")
    thread, got = read_in_thread(reads, "b", "own read")
    reads.release(["a", "b"])  # "a" was answered; only "b" is still held
    thread.join(timeout=5)
    assert got == ["own read"]
    assert reads.get("a", lambda: "unused") == "batched"


def test_a_known_key_is_not_claimed() -> None:
    reads = SharedReads()
    reads.remember("a", "listed")
    reads.claim(["a"])
    assert reads.get("a", lambda: "own read") == "listed"  # would block if claimed


def test_a_graph_run_collects_less_often_then_restores_the_thresholds() -> None:
    before = gc.get_threshold()
    seen = run_graph(["n"], {}, lambda node: gc.get_threshold(), workers=1)
    assert seen.outcomes["n"].value == tuple(
        max(a, b) for a, b in zip(before, THRESHOLDS, strict=True)
    )
    assert gc.get_threshold() == before
