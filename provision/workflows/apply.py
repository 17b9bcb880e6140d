"""`apply`: a blueprint (planned, shown, confirmed) or a saved plan (planned again and applied
only when that plan makes each saved decision, see `provision.saved_plan`), under the project's
lease."""

from __future__ import annotations

from pathlib import Path

from provision import planfile, saved_plan
from provision.apply import check_deletes_allowed
from provision.blueprint.expand import expand
from provision.blueprint.loader import load
from provision.model import Plan
from provision.plan import plan_blueprint
from provision.resources.base import Context
from provision.workflows import leasing, sequence
from provision.workflows.sequence import Finished, Flags, Job
from provision.workflows.ui import Connect, Ui

RETRY_HINT = "Fix the cause and run apply again."


def apply(source: Path, flags: Flags, ui: Ui, connect: Connect, *, wait: float = 0.0) -> Finished:
    """Apply the blueprint or the saved plan at `source`, waiting up to `wait` seconds for the
    lease. Raises ApplyError when a change failed, StalePlanError for a saved plan that the
    live state (or its blueprint) no longer matches, SavedPlanError for an edited one."""
    if planfile.looks_like_plan(source):
        return _apply_saved(source, flags, ui, connect, wait)
    loaded = load(source)
    resources = expand(loaded)
    with connect() as api:
        ctx = Context.create(api, flags.options(api))
        lease = leasing.prepare(api, loaded.blueprint)

        def replan() -> Plan:
            return plan_blueprint(loaded, ctx, resources=resources)

        job = Job(f"Planned changes for {loaded.path}", lambda _: ctx, replan, wait=wait)
        applied = sequence.run(job, replan(), lease, ui)
    return sequence.finish(applied, ui, hint=RETRY_HINT)


def _apply_saved(source: Path, flags: Flags, ui: Ui, connect: Connect, wait: float) -> Finished:
    """The saved plan is never applied itself: the blueprint is planned again (after the lease
    is read, and again under it when another run held it since) and that plan is applied when
    it agrees with the saved one; it is not confirmed again, the saved plan was reviewed."""
    saved = planfile.read(source)
    loaded = saved_plan.saved_blueprint(saved)
    resources = expand(loaded)
    saved_plan.check_scope(saved, loaded, resources)
    with connect() as api:
        ctx = Context.create(api, flags.options(api))
        check_deletes_allowed(saved, ctx.options)
        lease = leasing.prepare(api, loaded.blueprint)

        def replan() -> Plan:
            return saved_plan.replanned(saved, loaded, ctx, resources)

        heading = f"Planned changes for {loaded.path}"
        job = Job(heading, lambda _: ctx, replan, confirm=False, wait=wait)
        applied = sequence.run(job, replan(), lease, ui)
    return sequence.finish(applied, ui, hint=RETRY_HINT)
