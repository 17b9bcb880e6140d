"""`apply`: a blueprint (planned, shown, confirmed) or a saved plan (checked, never planned
again), applied under the project's lease."""

from __future__ import annotations

from pathlib import Path

from provision import planfile
from provision.blueprint.expand import expand
from provision.blueprint.loader import load
from provision.model import Plan
from provision.plan import plan_blueprint
from provision.resources.base import Context
from provision.saved_plan import check_scope, derived, saved_blueprint
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
    plan = planfile.read(source)
    loaded = saved_blueprint(plan)
    check_scope(plan, loaded)
    with connect() as api:
        ctx = Context.create(api, flags.options(api))
        plan = derived(plan, ctx.options)
        lease = leasing.prepare(api, loaded.blueprint)
        heading = f"Planned changes for {plan.blueprint_path}"
        job = Job(heading, lambda _: ctx, None, confirm=False, wait=wait)
        applied = sequence.run(job, plan, lease, ui)
    return sequence.finish(applied, ui, hint=RETRY_HINT)
