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

from provision.collector import collected_less_often

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
    cancel: threading.Event | None = None,
) -> GraphResult[K, T]:
    """Run `work(node)` for every node after its dependencies (dependencies outside `nodes` are
    ignored). Exceptions from `work` mark the node failed; they are not raised."""
    schedule: _Schedule[K, T] = _Schedule(nodes, deps, group_of, group_limits)
    cancel = cancel or threading.Event()
    stop = threading.Event()
    interrupted = False
    pool = _Pool(work, max(1, min(workers, len(schedule.order))))
    try:
        with _ctrl_c_sets(stop), collected_less_often():
            try:
                schedule.run(pool, workers, stop)
            except KeyboardInterrupt:  # not on the main thread, or a second Ctrl-C
                stop.set()
            if stop.is_set():
                interrupted = True
                cancel.set()
                pool.stop()
                schedule.wind_down(pool)
    except BaseException:  # the scheduler itself failed: start nothing more, end waits early
        pool.stop()
        cancel.set()
        raise
    finally:
        # Every node settled (or, after Ctrl-C, wound down): no work runs, so the threads end
        # on their own. Only a scheduler that failed leaves work to wait for.
        pool.close(wait=len(schedule.outcomes) < len(schedule.order) or bool(schedule.running))
    return GraphResult({node: schedule.outcomes[node] for node in schedule.topo}, interrupted)


class _Schedule(Generic[K, T]):
    """Which nodes are waiting, ready, running or settled. Ready nodes start in `order`
    (critical path first) as their group (`group_of`) has room under `group_limits`."""

    def __init__(
        self,
        nodes: Sequence[K],
        deps: Mapping[K, Sequence[K]],
        group_of: Callable[[K], str] | None,
        group_limits: Mapping[str, int] | None,
    ) -> None:
        self.topo = topological(nodes, deps)
        known = set(self.topo)
        self.pending = {
            node: list(dict.fromkeys(d for d in deps.get(node, ()) if d in known))
            for node in self.topo
        }
        self.waiting_on = {node: len(self.pending[node]) for node in self.topo}
        self.dependents: dict[K, list[K]] = {node: [] for node in self.topo}
        for node in self.topo:
            for dep in self.pending[node]:
                self.dependents[dep].append(node)
        self.order = critical_first(self.topo, self.dependents)
        self.index = {node: position for position, node in enumerate(self.order)}
        self.outcomes: dict[K, Outcome[T]] = {}
        self.running: set[K] = set()
        self.in_group: dict[str, int] = {}
        self.limits = dict(group_limits or {})
        self.ready: dict[str, list[int]] = {}  # per group: heap of positions of ready nodes
        self._group_of = group_of
        for node in self.order:
            if self.waiting_on[node] == 0:
                self.became_ready(node)

    def group(self, node: K) -> str:
        return self._group_of(node) if self._group_of else ""

    def settle(self, node: K, outcome: Outcome[T]) -> None:
        """Record `outcome`; dependents whose last dependency this was become ready or skipped."""
        self.outcomes[node] = outcome
        for dependent in self.dependents[node]:
            self.waiting_on[dependent] -= 1
            if self.waiting_on[dependent] == 0:
                self.became_ready(dependent)

    def became_ready(self, node: K) -> None:
        bad = [d for d in self.pending[node] if self.outcomes[d].state is not State.DONE]
        if bad:
            first = bad[0]
            reason = f"{first} {self.outcomes[first].state.value}"
            self.settle(node, Outcome(State.SKIPPED, reason=reason))
            return
        heapq.heappush(self.ready.setdefault(self.group(node), []), self.index[node])

    def next_startable(self) -> K | None:
        """The first ready node (in `order`) whose group has room."""
        best: tuple[int, str] | None = None
        for name, heap in self.ready.items():
            limit = self.limits.get(name)
            has_room = limit is None or self.in_group.get(name, 0) < limit
            if heap and has_room and (best is None or heap[0] < best[0]):
                best = (heap[0], name)
        if best is None:
            return None
        heapq.heappop(self.ready[best[1]])
        return self.order[best[0]]

    def run(self, pool: _Pool[K, T], workers: int, stop: threading.Event) -> None:
        """Start ready nodes and settle finished ones until every node is settled or `stop`."""
        while len(self.outcomes) < len(self.order) and not stop.is_set():
            self._start_ready(pool, workers, stop)
            if not self.running:
                if len(self.outcomes) < len(self.order) and not stop.is_set():
                    raise AssertionError("graph runner stalled (a group limit of 0?)")
                break
            for node, outcome in _drain(pool.finished, timeout=0.1):
                self.running.discard(node)
                self.in_group[self.group(node)] -= 1
                self.settle(node, outcome)

    def _start_ready(self, pool: _Pool[K, T], workers: int, stop: threading.Event) -> None:
        while len(self.running) < workers and not stop.is_set():
            startable = self.next_startable()
            if startable is None:
                return
            name = self.group(startable)
            self.in_group[name] = self.in_group.get(name, 0) + 1
            self.running.add(startable)
            pool.submit(startable)

    def wind_down(self, pool: _Pool[K, T]) -> None:
        """After a stop: running calls finish (their waits end early); the rest never start."""
        while self.running:
            with contextlib.suppress(KeyboardInterrupt):
                for node, outcome in _drain(pool.finished, timeout=0.1):
                    self.running.discard(node)
                    self.outcomes[node] = outcome
        for node in self.order:
            if node not in self.outcomes:
                self.outcomes[node] = Outcome(State.NOT_STARTED, reason="interrupted")


_STOP = object()


class _Pool(Generic[K, T]):
    """`size` threads running `work(node)` for submitted nodes; every `(node, Outcome)` arrives
    on `finished`. Lighter than an executor (no future per node): the scheduler is the only
    reader of outcomes.

    The first thread starts with the first node (so a failure to start any raises); the others
    start at once on a helper thread, ready before the graph widens, so the scheduler never
    waits for a thread to start (about a millisecond each while others run). If a thread cannot
    start, the pool stays as large as it got. After `stop()`, a node no thread has taken yet is
    answered `NOT_STARTED`. `close` ends the threads.
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

    def close(self, *, wait: bool = True) -> None:
        """Tell every thread to end; with `wait`, until they have (work still running
        included). A finished graph has nothing running: its threads end on their own."""
        if self._starter is not None:
            self._starter.join()
        for _ in self._threads:
            self._tasks.put(_STOP)
        if wait:
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
