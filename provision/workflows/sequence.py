"""The one sequence every writing command runs: show the plan -> confirm -> take the lease ->
plan again if needed -> apply, and how its report ends the command.

Planning happens before the lease is taken (it only reads), conditioned on the lease as read
before planning (`leasing.prepare`). When another run held the lease since (or this run took
over a dead run's lease), the plan is made again under the lease (`Job.replan`):

* a plan of this run: a new plan that differs from the one confirmed is shown and confirmed
  again;
* a saved plan: `replan` plans the blueprint again and raises (SavedPlanError,
  StalePlanError) unless that plan still makes each saved decision; nothing is asked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from provision import apply as applier
from provision.apply import ApplyReport, failure_lines
from provision.errors import ApplyError
from provision.model import Plan
from provision.resources.base import Context, Options
from provision.workflows.leasing import LeaseStep, decisions, hold
from provision.workflows.ui import APPLY_QUESTION, Ui

if TYPE_CHECKING:
    from provision.gcp.api import GoogleApi

CHANGED_UNDER_LEASE = "The project changed while waiting for the lease; new plan:"


@dataclass(frozen=True)
class Flags:
    """The user's choices that allow otherwise-refused changes."""

    allow_delete: Sequence[str] = ()
    """Addresses (`kind:name`, already parsed by the caller) that may be deleted."""
    allow_disable_services: Sequence[str] = ()
    allow_remove_own_access: bool = False
    reimport: bool = False
    """Run every import again."""
    reimport_only: Sequence[str] = ()
    """Run these imports again (addresses, names or URIs, see `Options.reimport_only`)."""
    rerun: bool = False
    """Make every de-identified copy again."""

    def options(self, api: GoogleApi) -> Options:
        """The engine's options for a run as the caller of `api`."""
        return Options(
            allow_delete=frozenset(self.allow_delete),
            allow_disable_services=frozenset(self.allow_disable_services),
            allow_remove_own_access=self.allow_remove_own_access,
            caller=api.identity.member,
            reimport=self.reimport,
            rerun=self.rerun,
            reimport_only=frozenset(self.reimport_only),
        )


@dataclass(frozen=True)
class Job:
    """How one command shows and applies its plan (what differs between commands)."""

    heading: str
    """Title of the shown plan, e.g. `Planned removals for BLUEPRINT`."""
    context: Callable[[Plan], Context]
    """The context a plan is re-checked and applied in."""
    replan: Callable[[], Plan]
    """Plans again (the same way as the plan `run` is given was made)."""
    confirm: bool = True
    """Ask before applying, and again when the plan made under the lease differs; False for a
    saved plan, which was reviewed and whose `replan` refuses any difference."""
    wait: float = 0.0
    """Seconds to wait while another run holds the lease."""


@dataclass(frozen=True)
class Applied:
    """The plan that was applied and how it went."""

    plan: Plan
    report: ApplyReport


def run(job: Job, plan: Plan, lease: LeaseStep, ui: Ui) -> Applied | None:
    """Show `plan`; when it changes anything: confirm, take the lease, plan again when another
    run held it since, apply. None when there is nothing to apply (also when the plan made
    again under the lease has nothing left to do)."""
    ui.show_plan(plan, job.heading)
    if not plan.has_changes:
        return None
    if job.confirm:
        ui.confirm(APPLY_QUESTION, action="apply", review="the plan")
    with hold(lease, wait=job.wait, ui=ui) as held:
        trusted = held is None or held.trusted
        fresh = plan if trusted else _planned_again(job, plan, ui)
        if fresh is None:
            return None
        return Applied(fresh, applier.apply_plan(fresh, job.context(fresh), reporter=ui))


def _planned_again(job: Job, plan: Plan, ui: Ui) -> Plan | None:
    fresh = job.replan()
    if not job.confirm or decisions(fresh) == decisions(plan):
        return fresh
    ui.say(CHANGED_UNDER_LEASE)
    ui.show_plan(fresh, job.heading)
    if not fresh.has_changes:
        return None
    ui.confirm(APPLY_QUESTION, action="apply", review="the plan")
    return fresh


@dataclass(frozen=True)
class Finished:
    """How a writing command ended."""

    interrupted: bool = False
    """Stopped by Ctrl-C: the summary and what did not finish were said."""
    applied: Applied | None = None
    """None when there was nothing to apply."""


def finish(applied: Applied | None, ui: Ui, *, hint: str, verb: str = "Apply") -> Finished:
    """Say how the run went; ApplyError (ending with `hint`) when a change failed."""
    if applied is None:
        return Finished()
    report = applied.report
    summary = report.summary(verb)
    lines = "\n".join(failure_lines(report))
    if report.interrupted:
        ui.say(summary)
        ui.note(lines)
        return Finished(interrupted=True, applied=applied)
    if not report.ok:
        raise ApplyError(f"{summary}\n{lines}\n{hint}")
    ui.say(summary)
    return Finished(applied=applied)
