"""Applying: execute exactly the changes of a Plan, in dependency order, concurrently.

* Independent changes run in parallel (bounded overall and per Google API).
* A delete runs only when `Options.allow_delete` names it (`check_deletes_allowed`).
* Symbols (project numbers) are resolved just before each write.
* When a change fails, the changes depending on it are skipped; the report lists done / failed /
  skipped. Re-running apply (a fresh plan) finishes the job.
* Ctrl-C: nothing new starts, waits end, running calls finish; the report says what finished.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from provision.errors import RefusedError, RunInterruptedError
from provision.graph import Outcome, State, run_graph
from provision.model import Action, Address, Change, Observed, Plan
from provision.resources import registry
from provision.resources.base import Context, Options, resource_of

if TYPE_CHECKING:
    from provision.gcp.operations import Progress

DEFAULT_WORKERS = 64
PER_API_LIMIT = 25
"""Changes running at once per Google API. Rates are bounded separately: write pacing keeps
every API within its per-minute quota (Healthcare, whose limits are unpublished, at 600 writes a
minute), so this bound only shapes bursts. With 10, applying 100 sites on the emulator waited
on this bound (400 Healthcare changes, ten at a time) rather than on dependencies (see README
"Performance")."""


class Reporter(Protocol):
    """Told about each change as it runs (the CLI prints these; nothing else does)."""

    def started(self, change: Change) -> None: ...
    def progress(self, change: Change, progress: Progress) -> None: ...
    def finished(self, change: Change, result: ChangeResult) -> None: ...


@dataclass(frozen=True)
class ChangeResult:
    address: Address
    action: Action
    state: State
    message: str = ""
    seconds: float = 0.0
    interrupted: bool = False
    """Stopped by Ctrl-C (e.g. while waiting for an operation), not failed."""
    idle: bool = False
    """Finished, but found nothing to do (a `run` step such as an import with no files)."""


@dataclass(frozen=True)
class ApplyReport:
    results: tuple[ChangeResult, ...]
    interrupted: bool = False

    def of(self, state: State) -> list[ChangeResult]:
        return [r for r in self.results if r.state is state and r.action is not Action.NOOP]

    @property
    def ok(self) -> bool:
        return not self.interrupted and not self.of(State.FAILED) and not self.of(State.SKIPPED)

    def summary(self, verb: str = "Apply") -> str:
        """`Apply complete: 3 done, 0 failed, 0 skipped.` (or `Apply failed: ...`); `verb` names
        what ran (e.g. `Destroy`)."""
        changed = [r for r in self.results if r.action in MUTATING]
        done = sum(1 for r in changed if r.state is State.DONE and not r.idle)
        idle = sum(1 for r in changed if r.idle)
        stopped = sum(1 for r in changed if r.interrupted)
        failed = sum(1 for r in changed if r.state is State.FAILED and not r.interrupted)
        skipped = sum(1 for r in changed if r.state is State.SKIPPED)
        not_started = sum(1 for r in changed if r.state is State.NOT_STARTED)
        state = "interrupted" if self.interrupted else ("complete" if self.ok else "failed")
        head = f"{verb} {state}"
        text = f"{head}: {done} done, {failed} failed, {skipped} skipped"
        if idle:
            text += f", {idle} with nothing to do"
        if stopped:
            text += f", {stopped} interrupted"
        if not_started:
            text += f", {not_started} not started"
        return text + "."


MUTATING = (Action.CREATE, Action.UPDATE, Action.DELETE, Action.RUN)
IDLE = "nothing to do"
"""What `work` returns for a `run` step that found nothing to do."""


def check_deletes_allowed(plan: Plan, options: Options) -> None:
    """RefusedError for the first delete of `plan` that --allow-delete does not name."""
    for change in plan.changes:
        if change.action is Action.DELETE and str(change.address) not in options.allow_delete:
            raise RefusedError(
                f"the plan deletes {change.address}; pass --allow-delete {change.address} "
                "to allow it"
            )


def apply_plan(
    plan: Plan,
    ctx: Context,
    *,
    reporter: Reporter | None = None,
    workers: int = DEFAULT_WORKERS,
    per_api: int = PER_API_LIMIT,
) -> ApplyReport:
    """Execute `plan`'s changes; never raises for a failed change (see the report)."""
    check_deletes_allowed(plan, ctx.options)
    changes = {c.address: c for c in plan.changes}
    timings: dict[Address, float] = {}

    def work(address: Address) -> str:
        change = changes[address]
        if not change.is_mutation:
            return ""
        kind = registry.get(address.kind)
        if reporter is not None:
            reporter.started(change)
        start = time.monotonic()
        try:
            change = replace(change, after=ctx.facts.resolve_fully(change.after, str(address)))
            run_ctx = ctx.for_change(_progress_to(reporter, change))
            observed = _dispatch(kind.name, change, run_ctx)
            if observed is not None:
                ctx.facts.update(kind.facts(resource_of(change), observed))
        except Exception as error:
            timings[address] = time.monotonic() - start
            if reporter is not None:
                failed = Outcome[str](State.FAILED, error=error)
                reporter.finished(change, _result(change, failed, timings[address]))
            raise
        timings[address] = time.monotonic() - start
        # A one-shot step that returns nothing found nothing to do (e.g. an empty import).
        outcome = IDLE if change.action is Action.RUN and observed is None else ""
        if reporter is not None:
            done = Outcome(State.DONE, value=outcome)
            reporter.finished(change, _result(change, done, timings[address]))
        return outcome

    kinds_api = {a: _api_of(a) for a in changes}
    result = run_graph(
        list(changes),
        {a: c.depends_on for a, c in changes.items()},
        work,
        workers=workers,
        group_of=lambda a: kinds_api[a],
        group_limits=dict.fromkeys(set(kinds_api.values()), per_api),
        cancel=ctx.cancel,
    )
    results = []
    interrupted = result.interrupted
    for address, outcome in result.outcomes.items():
        change = changes[address]
        item = _result(change, outcome, timings.get(address, 0.0))
        if isinstance(outcome.error, RunInterruptedError):
            interrupted = True
        results.append(item)
        unreported = outcome.state in (State.SKIPPED, State.NOT_STARTED)
        if reporter is not None and change.is_mutation and unreported:
            reporter.finished(change, item)
    return ApplyReport(tuple(results), interrupted)


def _dispatch(kind_name: str, change: Change, ctx: Context) -> Observed | None:
    kind = registry.get(kind_name)
    if change.action is Action.CREATE:
        return kind.create(ctx, change)
    if change.action is Action.UPDATE:
        return kind.update(ctx, change)
    if change.action is Action.DELETE:
        kind.delete(ctx, change)
        return None
    if change.action is Action.RUN:
        return kind.run(ctx, change)
    return None


def _api_of(address: Address) -> str:
    try:
        return registry.get(address.kind).api
    except KeyError:
        return ""


def _result(change: Change, outcome: Outcome[str], seconds: float) -> ChangeResult:
    message = outcome.reason
    if outcome.error is not None:
        message = str(outcome.error) or type(outcome.error).__name__
    if outcome.state is State.SKIPPED and outcome.reason:
        message = f"skipped because {outcome.reason}"
    interrupted = isinstance(outcome.error, RunInterruptedError)
    idle = outcome.state is State.DONE and outcome.value == IDLE
    return ChangeResult(
        change.address, change.action, outcome.state, message, seconds, interrupted, idle
    )


def _progress_to(reporter: Reporter | None, change: Change) -> Callable[[Progress], None] | None:
    if reporter is None:
        return None

    def report(progress: Progress) -> None:
        reporter.progress(change, progress)

    return report


def failure_lines(report: ApplyReport) -> Sequence[str]:
    """One line per change that did not complete, for error messages."""
    lines = []
    for result in report.results:
        if result.action in MUTATING and result.state is not State.DONE:
            state = "interrupted" if result.interrupted else result.state.value
            lines.append(f"  {state}: {result.address}: {result.message}")
    return lines


def counts(report: ApplyReport) -> Mapping[State, int]:
    out: dict[State, int] = {}
    for result in report.results:
        if result.action in MUTATING:
            out[result.state] = out.get(result.state, 0) + 1
    return out
