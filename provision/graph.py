"""Run work over a dependency graph: each node as soon as its dependencies finished.

Used by the planner (reads), the applier (writes) and destroy (reads). Concurrency is
bounded overall (`workers`) and per group (`group_limits`, e.g. per Google API). A node whose
dependency failed or was skipped is skipped. On KeyboardInterrupt (Ctrl-C) nothing new starts,
`cancel` is set so waits end early, running work is allowed to finish, and the outcome records
what finished and what never started.
"""

from __future__ import annotations

import contextlib
import heapq
import queue
import signal
import threading
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import FrameType
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


class State(StrEnum):
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"
    NOT_STARTED = "not started"


@dataclass(frozen=True)
class Outcome(Generic[T]):
    state: State
    value: T | None = None
    error: BaseException | None = None
    reason: str = ""


@dataclass(frozen=True)
class GraphResult(Generic[K, T]):
    outcomes: dict[K, Outcome[T]]
    interrupted: bool = False

    def where(self, state: State) -> list[K]:
        return [key for key, outcome in self.outcomes.items() if outcome.state is state]


class CycleError(ValueError):
    pass


def topological(nodes: Sequence[K], deps: Mapping[K, Sequence[K]]) -> list[K]:
    """`nodes` ordered so dependencies come first (stable w.r.t. input order)."""
    order: list[K] = []
    state: dict[K, int] = {}
    known = set(nodes)

    def visit(node: K, path: tuple[K, ...]) -> None:
        mark = state.get(node, 0)
        if mark == 2:
            return
        if mark == 1:
            cycle = " -> ".join(str(n) for n in (*path, node))
            raise CycleError(f"dependency cycle: {cycle}")
        state[node] = 1
        for dep in deps.get(node, ()):
            if dep in known:
                visit(dep, (*path, node))
        state[node] = 2
        order.append(node)

    for node in nodes:
        visit(node, ())
    return order


def critical_first(order: Sequence[K], dependents: Mapping[K, Sequence[K]]) -> list[K]:
    """`order` (topological) re-sorted so nodes heading the longest chains of dependents come
    first; ties keep `order`. Starting those first keeps the chains that bound the wall time
    moving when there are more ready nodes than workers (list scheduling by critical path)."""
    height: dict[K, int] = {}
    for node in reversed(order):
        height[node] = 1 + max((height[d] for d in dependents[node]), default=0)
    position = {node: i for i, node in enumerate(order)}
    return sorted(order, key=lambda node: (-height[node], position[node]))


def run_graph(
    nodes: Sequence[K],
    deps: Mapping[K, Sequence[K]],
    work: Callable[[K], T],
    *,
    workers: int = 16,
    group_of: Callable[[K], str] | None = None,
    group_limits: Mapping[str, int] | None = None,
    skip_if: Callable[[K, Mapping[K, Outcome[T]]], str | None] | None = None,
    cancel: threading.Event | None = None,
) -> GraphResult[K, T]:
    """Run `work(node)` for every node after its dependencies (dependencies outside `nodes` are
    ignored). `skip_if(node, outcomes)` may return a reason to skip a node whose dependencies
    all succeeded. Exceptions from `work` mark the node failed; they are not raised."""
    topo = topological(nodes, deps)
    known = set(topo)
    pending = {
        node: list(dict.fromkeys(d for d in deps.get(node, ()) if d in known)) for node in topo
    }
    waiting_on = {node: len(pending[node]) for node in topo}
    dependents: dict[K, list[K]] = {node: [] for node in topo}
    for node in topo:
        for dep in pending[node]:
            dependents[dep].append(node)
    order = critical_first(topo, dependents)
    index = {node: position for position, node in enumerate(order)}
    outcomes: dict[K, Outcome[T]] = {}
    in_group: dict[str, int] = {}
    limits = dict(group_limits or {})
    ready: dict[str, list[int]] = {}  # per group: heap of positions of nodes ready to start
    cancel = cancel or threading.Event()
    interrupted = False

    def group(node: K) -> str:
        return group_of(node) if group_of else ""

    def settle(node: K, outcome: Outcome[T]) -> None:
        """Record `outcome`; dependents whose last dependency this was become ready or skipped."""
        outcomes[node] = outcome
        for dependent in dependents[node]:
            waiting_on[dependent] -= 1
            if waiting_on[dependent] == 0:
                became_ready(dependent)

    def became_ready(node: K) -> None:
        bad = [d for d in pending[node] if outcomes[d].state is not State.DONE]
        if bad:
            first = bad[0]
            settle(node, Outcome(State.SKIPPED, reason=f"{first} {outcomes[first].state.value}"))
            return
        if skip_if is not None:
            reason = skip_if(node, outcomes)
            if reason is not None:
                settle(node, Outcome(State.SKIPPED, reason=reason))
                return
        heapq.heappush(ready.setdefault(group(node), []), index[node])

    def next_startable() -> K | None:
        """The first ready node (in `order`) whose group has room."""
        best: tuple[int, str] | None = None
        for name, heap in ready.items():
            limit = limits.get(name)
            has_room = limit is None or in_group.get(name, 0) < limit
            if heap and has_room and (best is None or heap[0] < best[0]):
                best = (heap[0], name)
        if best is None:
            return None
        heapq.heappop(ready[best[1]])
        return order[best[0]]

    for node in order:
        if waiting_on[node] == 0:
            became_ready(node)

    stop = threading.Event()
    running: set[K] = set()
    pool = _Pool(work, max(1, min(workers, len(order))))
    try:
        with _ctrl_c_sets(stop):
            try:
                while len(outcomes) < len(order) and not stop.is_set():
                    while len(running) < workers and not stop.is_set():
                        startable = next_startable()
                        if startable is None:
                            break
                        name = group(startable)
                        in_group[name] = in_group.get(name, 0) + 1
                        running.add(startable)
                        pool.submit(startable)
                    if not running:
                        if len(outcomes) < len(order) and not stop.is_set():
                            raise AssertionError("graph runner stalled (a group limit of 0?)")
                        break
                    for node, outcome in _drain(pool.finished, timeout=0.1):
                        running.discard(node)
                        in_group[group(node)] -= 1
                        settle(node, outcome)
            except KeyboardInterrupt:  # not on the main thread, or a second Ctrl-C
                stop.set()
            if stop.is_set():
                interrupted = True
                cancel.set()
                pool.stop()
                while running:  # running calls finish (their waits end early)
                    with contextlib.suppress(KeyboardInterrupt):
                        for node, outcome in _drain(pool.finished, timeout=0.1):
                            running.discard(node)
                            outcomes[node] = outcome
                for node in order:
                    if node not in outcomes:
                        outcomes[node] = Outcome(State.NOT_STARTED, reason="interrupted")
    except BaseException:  # the scheduler itself failed: start nothing more, end waits early
        pool.stop()
        cancel.set()
        raise
    finally:
        pool.close()
    return GraphResult({node: outcomes[node] for node in topo}, interrupted)


_STOP = object()


class _Pool(Generic[K, T]):
    """`size` threads running `work(node)` for submitted nodes; every `(node, Outcome)` arrives
    on `finished`. Lighter than an executor (no future per node): the scheduler is the only
    reader of outcomes.

    The first thread starts with the first node (so a failure to start any raises); the others
    start at once on a helper thread, ready before the graph widens, so the scheduler never
    waits for a thread to start (about a millisecond each while others run). If a thread cannot
    start, the pool stays as large as it got. After `stop()`, a node no thread has taken yet is
    answered `NOT_STARTED`. `close` ends and joins the threads.
    """

    def __init__(self, work: Callable[[K], T], size: int) -> None:
        self._work = work
        self._size = size
        self._tasks: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._starter: threading.Thread | None = None
        self._stopped = threading.Event()
        self.finished: queue.SimpleQueue[tuple[K, Outcome[T]]] = queue.SimpleQueue()

    def submit(self, node: K) -> None:
        self._tasks.put(node)
        if not self._threads:
            self._start_worker()
            starter = threading.Thread(
                target=self._start_the_rest, name="provision-pool-starter", daemon=True
            )
            with contextlib.suppress(RuntimeError):  # no helper: the one thread does it all
                starter.start()
                self._starter = starter

    def stop(self) -> None:
        self._stopped.set()

    def close(self) -> None:
        if self._starter is not None:
            self._starter.join()
        for _ in self._threads:
            self._tasks.put(_STOP)
        for thread in self._threads:
            thread.join()

    def _start_the_rest(self) -> None:
        try:
            while len(self._threads) < self._size:
                self._start_worker()
        except RuntimeError:  # e.g. "can't start new thread": keep the threads there are
            pass

    def _start_worker(self) -> None:
        thread = threading.Thread(
            target=self._serve, name=f"provision-worker-{len(self._threads)}", daemon=True
        )
        thread.start()
        self._threads.append(thread)

    def _serve(self) -> None:
        while (task := self._tasks.get()) is not _STOP:
            node: K = task  # type: ignore[assignment]
            if self._stopped.is_set():
                outcome: Outcome[T] = Outcome(State.NOT_STARTED, reason="interrupted")
            else:
                try:
                    outcome = Outcome(State.DONE, value=self._work(node))
                except BaseException as error:  # the node's failure, as with an executor
                    outcome = Outcome(State.FAILED, error=error)
            self.finished.put((node, outcome))


@contextlib.contextmanager
def _ctrl_c_sets(stop: threading.Event) -> Iterator[None]:
    """While running on the main thread, Ctrl-C sets `stop` instead of raising."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _drain(finished: queue.SimpleQueue[T], timeout: float) -> list[T]:
    """What `finished` holds: waits up to `timeout` for the first item, then takes the rest."""
    try:
        items = [finished.get(timeout=timeout)]
    except queue.Empty:
        return []
    with contextlib.suppress(queue.Empty):
        while True:
            items.append(finished.get_nowait())
    return items
