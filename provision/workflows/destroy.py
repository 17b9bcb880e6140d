"""`destroy`: remove what a blueprint (or one of its sites) made, safely.

Shows what would be removed and what is kept (and why), confirms like `apply`, then runs the
removals through the ordinary applier under the lease, in reverse dependency order. The rules
are `provision.destroy`'s: only owned objects, nothing holding data unless named, datasets and
the project only when named, APIs only with `disable_services`, IAM: only the blueprint's
members.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from provision.apply import ApplyReport
from provision.blueprint.expand import expand
from provision.blueprint.loader import load
from provision.destroy import deletes, plan_destroy
from provision.errors import ProvisionError
from provision.files import shown
from provision.model import Action, Plan
from provision.resources.base import REFUSED, Context
from provision.site_scope import site_addresses, site_file_path
from provision.workflows import leasing, sequence
from provision.workflows.sequence import Finished, Flags, Job
from provision.workflows.ui import Connect, Ui


@dataclass(frozen=True)
class DestroyRequest:
    """What one destroy covers."""

    blueprint: Path
    site: str | None = None
    """Only this site's objects."""
    named: Sequence[str] = ()
    """--allow-delete addresses (parsed by the caller)."""
    disable_services: bool = False
    allow_remove_own_access: bool = False
    wait: float = 0.0
    """Seconds to wait while another run holds the lease."""


def destroy(request: DestroyRequest, ui: Ui, connect: Connect) -> Finished:
    """Plan the removals, show them, confirm, and run them under the lease. Raises ApplyError
    naming each removal that failed or was refused (an object that holds data the plan did not
    show is kept)."""
    loaded = load(request.blueprint)
    resources = expand(loaded)
    only = None
    if request.site is not None:
        if request.disable_services:
            raise ProvisionError(
                "--disable-services applies to the whole blueprint only: other sites use the "
                "same APIs"
            )
        only = site_addresses(loaded, resources, request.site)
    flags = Flags(request.named, (), request.allow_remove_own_access)
    with connect() as api:
        options = flags.options(api)
        lease = leasing.prepare(api, loaded.blueprint)

        def removals() -> Plan:
            found = plan_destroy(
                loaded,
                Context.create(api, options),
                only=only,
                named=frozenset(request.named),
                disable_services=request.disable_services,
                resources=resources,
            )
            return found.plan

        def context(plan: Plan) -> Context:
            return Context.create(api, replace(options, allow_delete=deletes(plan)))

        plan = removals()
        if not plan.changes:
            why = plan.warnings[0] if plan.warnings else "none of the blueprint's objects exist"
            ui.say(f"Nothing to remove: {why}.")
            return Finished()
        heading = f"Planned removals for {plan.blueprint_path}"
        job = Job(heading, context, removals, wait=request.wait)
        applied = sequence.run(job, plan, lease, ui)
    if applied is None:
        ui.say("Nothing to remove.")
        return Finished()
    finished = sequence.finish(applied, ui, hint=_hint(applied.report), verb="Destroy")
    if not finished.interrupted:
        kept = _say_kept(applied.plan, ui)
        if request.site is not None:
            path = site_file_path(loaded, request.site)
            if kept:
                _keep_site_file(path, request.site, ui, "its kept objects still belong to it")
            else:
                _offer_site_file_removal(path, request.site, ui)
    return finished


def _hint(report: ApplyReport) -> str:
    refused = [r for r in report.results if r.message.startswith(REFUSED)]
    if not refused:
        return "Fix the cause and run destroy again."
    return (
        f"{len(refused)} removal(s) refused: those objects hold data the plan did not show and "
        "were kept; run destroy again to see them as they are now."
    )


def _say_kept(plan: Plan, ui: Ui) -> int:
    """Say how many objects the removals kept; that number."""
    kept = [c for c in plan.changes if c.action is Action.FORGET]
    if kept:
        ui.say(f"Kept {len(kept)} object(s); see the reasons above.")
    return len(kept)


def _keep_site_file(path: Path, site: str, ui: Ui, why: str) -> None:
    ui.say(
        f"The site file {shown(path)} stays ({why}) and still declares {site}: remove it from "
        "the blueprint's site folder, or `provision apply` / `provision onboard` will create "
        "the site again."
    )


def _offer_site_file_removal(path: Path, site: str, ui: Ui) -> None:
    """Once nothing of the site was kept: ask whether to remove its site file (`--yes`:
    remove it); when kept, say what that means."""
    try:
        ui.confirm(
            f"Remove the site file {shown(path)}, so the blueprint no longer declares {site}?",
            action="remove the site file",
            review="the removals above",
        )
        path.unlink()
    except ProvisionError:  # not confirmed
        _keep_site_file(path, site, ui, "not confirmed")
        return
    except OSError as error:
        _keep_site_file(path, site, ui, f"cannot remove it: {error.strerror}")
        return
    ui.say(f"Removed the site file {shown(path)}.")
