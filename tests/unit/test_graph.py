"""The dependency-graph runner used by plan and apply."""

from __future__ import annotations

import threading
import time

import pytest

from provision.graph import CycleError, State, critical_first, run_graph, topological


def test_topological_order_is_stable_and_detects_cycles() -> None:
    deps = {"b": ["a"], "c": ["a"], "d": ["b", "c"]}
    assert topological(["a", "b", "c", "d"], deps) == ["a", "b", "c", "d"]
    order = topological(["d", "c", "b", "a"], deps)
    assert order.index("a") < order.index("b") < order.index("d")
    assert order.index("c") < order.index("d")
    with pytest.raises(CycleError, match="a -> b -> a"):
        topological(["a", "b"], {"a": ["b"], "b": ["a"]})


def test_nodes_run_after_dependencies_and_in_parallel() -> None:
    started: dict[str, float] = {}
    finished: dict[str, float] = {}
    lock = threading.Lock()

    def work(node: str) -> str:
        with lock:
            started[node] = time.monotonic()
        time.sleep(0.05)
        with lock:
            finished[node] = time.monotonic()
        return node.upper()

    deps = {"b": ["a"], "c": ["a"], "d": ["b", "c"]}
    result = run_graph(["a", "b", "c", "d"], deps, work, workers=4)
    assert all(o.state is State.DONE for o in result.outcomes.values())
    assert result.outcomes["d"].value == "D"
    assert started["b"] >= finished["a"] and started["d"] >= max(finished["b"], finished["c"])
    # b and c ran at the same time: three waves, not four
    assert started["b"] < finished["c"] and started["c"] < finished["b"]


def test_heads_of_long_chains_start_first() -> None:
    # leaves l1..l3 come first in the input, yet the chain a -> b -> c is started first
    nodes = ["l1", "l2", "l3", "a", "b", "c"]
    deps = {"b": ["a"], "c": ["b"]}
    dependents = {n: [m for m in nodes if n in deps.get(m, [])] for n in nodes}
    assert critical_first(topological(nodes, deps), dependents) == ["a", "b", "l1", "l2", "l3", "c"]

    started: list[str] = []
    run_graph(nodes, deps, started.append, workers=1)
    assert started[0] == "a"
    assert started.index("b") < started.index("l1")  # b (chain of 2) before the leaves


def test_failure_skips_dependents_only() -> None:
    def work(node: str) -> None:
        if node == "b":
            raise RuntimeError("boom")

    result = run_graph(["a", "b", "c", "d"], {"b": ["a"], "c": ["b"], "d": ["a"]}, work)
    states = {k: o.state for k, o in result.outcomes.items()}
    assert states == {"a": State.DONE, "b": State.FAILED, "c": State.SKIPPED, "d": State.DONE}
    assert "b failed" in result.outcomes["c"].reason


def test_group_limits_bound_concurrency() -> None:
    running = {"now": 0, "max": 0}
    lock = threading.Lock()

    def work(node: int) -> None:
        with lock:
            running["now"] += 1
            running["max"] = max(running["max"], running["now"])
        time.sleep(0.02)
        with lock:
            running["now"] -= 1

    run_graph(
        list(range(12)), {}, work, workers=12, group_of=lambda n: "api", group_limits={"api": 3}
    )
    assert running["max"] == 3


def test_ctrl_c_stops_new_work_and_reports_what_finished() -> None:
    import _thread

    cancel = threading.Event()

    def work(node: str) -> str:
        if node == "a":
            _thread.interrupt_main()  # what Ctrl-C does to the main thread
            cancel.wait(2)  # a wait that ends early when cancelled
            return "a finished"
        return node

    result = run_graph(["a", "b", "c"], {"b": ["a"], "c": ["b"]}, work, cancel=cancel)
    assert result.interrupted
    assert cancel.is_set()
    assert result.outcomes["a"].state is State.DONE
    assert result.outcomes["b"].state is State.NOT_STARTED
    assert result.outcomes["c"].state is State.NOT_STARTED


def only_the_first_worker_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    start = threading.Thread.start

    def start_only_the_first_worker(thread: threading.Thread) -> None:
        if thread.name.startswith("provision-worker-") and thread.name != "provision-worker-0":
            raise RuntimeError("can't start new thread")
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", start_only_the_first_worker)


def test_ctrl_c_leaves_queued_nodes_not_started(monkeypatch: pytest.MonkeyPatch) -> None:
    import _thread

    only_the_first_worker_starts(monkeypatch)
    gate = threading.Event()
    ran: list[str] = []

    def work(node: str) -> None:
        ran.append(node)
        if node == "a":
            time.sleep(0.1)  # meanwhile b and c are queued
            _thread.interrupt_main()
            gate.wait(2)

    # b and c wait in the queue for the one thread while a runs; after Ctrl-C they never start
    result = run_graph(["a", "b", "c"], {}, work, workers=3, cancel=gate)
    assert result.interrupted
    assert ran == ["a"]
    assert [result.outcomes[n].state for n in "bc"] == [State.NOT_STARTED] * 2


@pytest.mark.timeout(20)
def test_a_pool_that_cannot_grow_runs_on_the_threads_it_has(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = threading.Thread.start
    only_the_first_worker_starts(monkeypatch)
    workers: set[str] = set()

    def work(node: int) -> None:
        workers.add(threading.current_thread().name)
        time.sleep(0.01)

    result = run_graph(list(range(8)), {}, work, workers=4)
    assert all(o.state is State.DONE for o in result.outcomes.values())
    assert workers == {"provision-worker-0"}

    def start_no_helper(thread: threading.Thread) -> None:
        if thread.name == "provision-pool-starter":
            raise RuntimeError("can't start new thread")
        original(thread)

    monkeypatch.setattr(threading.Thread, "start", start_no_helper)
    workers.clear()
    result = run_graph(list(range(8)), {}, work, workers=4)
    assert all(o.state is State.DONE for o in result.outcomes.values())
    assert workers == {"provision-worker-0"}

    def start_none(thread: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", start_none)
    with pytest.raises(RuntimeError, match="can't start new thread"):
        run_graph(list(range(8)), {}, work, workers=4)


def test_a_graph_run_collects_less_often_then_restores_the_thresholds() -> None:
    import gc

    from provision.collector import THRESHOLDS

    before = gc.get_threshold()
    raised = tuple(max(a, b) for a, b in zip(before, THRESHOLDS, strict=True))

    def nested(node: str) -> tuple[int, ...]:
        inner = run_graph(["m"], {}, lambda _: gc.get_threshold(), workers=1)
        assert inner.outcomes["m"].value == raised
        return gc.get_threshold()  # still raised once the inner run ended

    seen = run_graph(["n"], {}, nested, workers=1)
    assert seen.outcomes["n"].value == raised
    assert gc.get_threshold() == before
