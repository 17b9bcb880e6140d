"""Run work over a dependency graph: each node as soon as its dependencies finished.

Used by the planner (reads), the applier (writes) and saved-plan re-checks. Concurrency is
bounded overall (`workers`) and per group (`group_limits`, e.g. per Google API). A node whose
dependency failed or was skipped is skipped. On KeyboardInterrupt (Ctrl-C) nothing new starts,
`cancel` is set so waits end early, running work is allowed to finish, and the outcome records
what finished and what never started.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from concurrent import futures
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
    order = topological(nodes, deps)
    known = set(order)
    pending = {node: [d for d in deps.get(node, ()) if d in known] for node in order}
    outcomes: dict[K, Outcome[T]] = {}
    running: dict[futures.Future[T], K] = {}
    in_group: dict[str, int] = {}
    limits = dict(group_limits or {})
    cancel = cancel or threading.Event()
    interrupted = False

    def group(node: K) -> str:
        return group_of(node) if group_of else ""

    def ready(node: K) -> bool:
        return all(d in outcomes for d in pending[node])

    def settle_blocked() -> None:
        """Skip nodes whose dependencies did not succeed (repeat until nothing changes)."""
        changed = True
        while changed:
            changed = False
            for node in order:
                if node in outcomes or not ready(node):
                    continue
                bad = [d for d in pending[node] if outcomes[d].state is not State.DONE]
                if bad:
                    first = bad[0]
                    outcomes[node] = Outcome(
                        State.SKIPPED, reason=f"{first} {outcomes[first].state.value}"
                    )
                    changed = True
                elif skip_if is not None:
                    reason = skip_if(node, outcomes)
                    if reason is not None:
                        outcomes[node] = Outcome(State.SKIPPED, reason=reason)
                        changed = True

    stop = threading.Event()
    with futures.ThreadPoolExecutor(max_workers=max(1, workers)) as pool, _ctrl_c_sets(stop):
        try:
            while len(outcomes) < len(order) and not stop.is_set():
                settle_blocked()
                started = set(running.values())
                for node in order:
                    if node in outcomes or node in started or not ready(node):
                        continue
                    name = group(node)
                    limit = limits.get(name)
                    if limit is not None and in_group.get(name, 0) >= limit:
                        continue
                    if len(running) >= workers or stop.is_set():
                        break
                    in_group[name] = in_group.get(name, 0) + 1
                    running[pool.submit(work, node)] = node
                if not running:
                    if len(outcomes) < len(order) and not stop.is_set():
                        raise AssertionError("graph runner stalled (a group limit of 0?)")
                    break
                finished, _ = futures.wait(
                    list(running), timeout=0.1, return_when=futures.FIRST_COMPLETED
                )
                for future in finished:
                    node = running.pop(future)
                    in_group[group(node)] -= 1
                    outcomes[node] = _outcome(future)
        except KeyboardInterrupt:  # not on the main thread, or a second Ctrl-C
            stop.set()
        if stop.is_set():
            interrupted = True
            cancel.set()
            for future, node in list(running.items()):
                while not future.done():  # running calls finish (their waits end early)
                    with contextlib.suppress(KeyboardInterrupt):
                        futures.wait([future], timeout=0.1)
                outcomes[node] = _outcome(future)
            for node in order:
                if node not in outcomes:
                    outcomes[node] = Outcome(State.NOT_STARTED, reason="interrupted")
    return GraphResult({node: outcomes[node] for node in order}, interrupted)


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


def _outcome(future: futures.Future[T]) -> Outcome[T]:
    error = future.exception()
    if error is not None:
        return Outcome(State.FAILED, error=error)
    return Outcome(State.DONE, value=future.result())
