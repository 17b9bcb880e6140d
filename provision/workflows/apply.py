"""`apply`: a blueprint (planned, shown, confirmed; all of it or one site's objects and what they
depend on) or a saved plan (planned again and applied only when that plan makes each saved
decision, see `provision.saved_plan`), under the project's lease."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from provision import planfile, saved_plan
from provision.apply import check_deletes_allowed
from provision.blueprint.expand import expand
from provision.blueprint.loader import load
from provision.errors import ProvisionError
from provision.model import Plan
from provision.plan import plan_blueprint
from provision.resources.base import Context
from provision.site_scope import site_addresses
from provision.workflows import leasing, sequence
from provision.workflows.sequence import Finished, Flags, Job
from provision.workflows.ui import Connect, Ui

RETRY_HINT = "Fix the cause and run apply again."


class SavedPlanOptionError(ProvisionError):
    """An option a saved plan cannot take (it was decided when the plan was saved)."""


def apply(
    source: Path,
    flags: Flags,
    ui: Ui,
    connect: Connect,
    *,
    site: str | None = None,
    wait: float = 0.0,
) -> Finished:
    """Apply the blueprint (only `site`'s objects and what they depend on, with `site`) or the
    saved plan at `source`, waiting up to `wait` seconds for the lease. Raises ApplyError when a
    change failed, StalePlanError for a saved plan that the live state (or its blueprint) no
    longer matches, SavedPlanError for an edited one, SavedPlanOptionError for a saved plan
    with `site` or `flags.reimport`."""
    if planfile.looks_like_plan(source):
        _check_saved_options(flags, site)
        return _apply_saved(source, flags, ui, connect, wait)
    loaded = load(source)
    resources = expand(loaded)
    only = None if site is None else site_addresses(loaded, resources, site)
    with connect() as api:
        ctx = Context.create(api, flags.options(api))
        lease = leasing.prepare(api, loaded.blueprint)

        def replan() -> Plan:
            planned = plan_blueprint(loaded, ctx, only=only, resources=resources)
            return replace(planned, site=site)

        scope = "" if site is None else f"site {site} of "
        job = Job(f"Planned changes for {scope}{loaded.path}", lambda _: ctx, replan, wait=wait)
        applied = sequence.run(job, replan(), lease, ui)
    return sequence.finish(applied, ui, hint=RETRY_HINT)


def _check_saved_options(flags: Flags, site: str | None) -> None:
    for given, option, why in (
        (site is not None, "--site", "a saved plan keeps the site it was planned for"),
        (
            flags.reimport or bool(flags.reimport_only),
            "--reimport",
            "a saved plan runs the imports it planned",
        ),
    ):
        if given:
            raise SavedPlanOptionError(
                f"PLANFILE and {option} cannot be used together: {why}; plan again with "
                f"{option} and --out, then apply that plan"
            )


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
