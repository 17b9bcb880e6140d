"""`provision destroy BLUEPRINT [--site SITE]`: remove what the blueprint made, safely.

Shows what it would remove and what it keeps (and why), asks to confirm like `apply`, then runs
the removals through the ordinary applier in reverse dependency order. See `provision.destroy`
for the rules: only owned objects, nothing holding data unless named, datasets and the project
only when named, APIs only with --disable-services, IAM: only the blueprint's members.
"""

from __future__ import annotations

import sys
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from provision.cli.app import app
from provision.cli.confirm import YesOption, assumes_yes, confirm
from provision.cli.engine_flags import AllowOwnAccessOption
from provision.cli.target import (
    CredentialsOption,
    EmulatorOption,
    EndpointOption,
    ImpersonateOption,
    TargetOptions,
    connect,
)

if TYPE_CHECKING:
    from provision.apply import ApplyReport
    from provision.blueprint.loader import LoadedBlueprint
    from provision.gcp.api import GoogleApi
    from provision.model import Address, Plan


@app.command()
def destroy(
    blueprint: Annotated[Path, typer.Argument(help="The blueprint whose objects to remove.")],
    site: Annotated[
        str | None, typer.Option(help="Only this site's objects (its site file's entries).")
    ] = None,
    allow_delete: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-delete",
            metavar="ADDRESS",
            help="Also delete this object (KIND:NAME) although it holds data, or this dataset "
            "or project (never deleted otherwise). Repeatable.",
            rich_help_panel="Safety",
        ),
    ] = None,
    disable_services: Annotated[
        bool,
        typer.Option(
            "--disable-services",
            help="Also disable the blueprint's APIs (whole blueprint only).",
            rich_help_panel="Safety",
        ),
    ] = False,
    allow_remove_own_access: AllowOwnAccessOption = False,
    yes: YesOption = False,
    endpoint: EndpointOption = None,
    emulator: EmulatorOption = False,
    credentials: CredentialsOption = None,
    impersonate_service_account: ImpersonateOption = None,
) -> None:
    """Remove what the blueprint (or one site) made: owned, empty objects and the blueprint's
    IAM members; keep anything holding data unless named with --allow-delete.

    Exit codes: 0 done (also when nothing was to remove), 1 error or failed removal, 130
    interrupted.
    """
    from provision.blueprint.expand import expand
    from provision.blueprint.loader import load
    from provision.errors import ProvisionError
    from provision.site_scope import site_addresses

    loaded = load(blueprint)
    only = None
    if site is not None:
        if disable_services:
            raise ProvisionError(
                "--disable-services applies to the whole blueprint only: other sites use the "
                "same APIs"
            )
        only = site_addresses(loaded, expand(loaded), site)
    target = TargetOptions(endpoint, emulator, credentials, impersonate_service_account)
    with connect(target) as connection:
        scope = Scope(loaded, only, list(allow_delete or []), disable_services)
        done = plan_and_remove(connection.api, scope, allow_remove_own_access, assumes_yes(yes))
    if done is not None:
        report_removals(*done, site)


@dataclass(frozen=True)
class Scope:
    """What one destroy covers: the blueprint, its objects (`only`: one site's), the
    --allow-delete addresses and --disable-services."""

    loaded: LoadedBlueprint
    only: AbstractSet[Address] | None
    named: list[str]
    disable: bool
    """--disable-services."""


def plan_and_remove(
    api: GoogleApi, scope: Scope, allow_remove_own_access: bool, assume_yes: bool
) -> tuple[Plan, ApplyReport] | None:
    """Plan the removals, show them, confirm, and run them under the lease (planned again
    there when another run held it since); None when there is nothing to remove."""
    from provision.apply import apply_plan
    from provision.cli import lease_step
    from provision.cli.engine_flags import engine_options
    from provision.cli.reporter import StderrReporter
    from provision.destroy import deletes, plan_destroy
    from provision.resources.base import Context

    options = engine_options(api, scope.named, None, allow_remove_own_access)
    step = lease_step.prepare(api, scope.loaded.blueprint)

    def removals() -> Plan:
        ctx = Context.create(api, options)
        named = frozenset(scope.named)
        found = plan_destroy(
            scope.loaded, ctx, only=scope.only, named=named, disable_services=scope.disable
        )
        return found.plan

    def run(plan: Plan) -> tuple[Plan, ApplyReport]:
        ctx = Context.create(api, replace(options, allow_delete=deletes(plan)))
        return plan, apply_plan(plan, ctx, reporter=StderrReporter())

    plan = removals()
    if not plan.changes:
        why = plan.warnings[0] if plan.warnings else "none of the blueprint's objects exist"
        typer.echo(f"Nothing to remove: {why}.")
        return None
    show_removals(plan)
    if not plan.has_changes:
        typer.echo("Nothing to remove.")
        return None
    confirm(assume_yes)
    done = lease_step.run_under_lease(
        step, plan, removals, run, show=show_removals, assume_yes=assume_yes
    )
    if done is None:
        typer.echo("Nothing to remove.")
    return done


def show_removals(plan: Plan) -> None:
    """Print the removal plan (`Planned removals for BLUEPRINT`)."""
    from provision.outputs import plan_text

    text = plan_text.render(plan, color=sys.stdout.isatty())
    typer.echo(text.replace("Planned changes for", "Planned removals for", 1), nl=False)


def report_removals(plan: Plan, report: ApplyReport, site: str | None) -> None:
    """The summary; exit 130 when interrupted; ApplyError naming each removal that failed or
    was refused (an object that holds data the plan did not show is kept)."""
    from provision.apply import failure_lines
    from provision.errors import ApplyError
    from provision.model import Action
    from provision.resources.base import REFUSED

    summary = report.summary().replace("Apply", "Destroy", 1)
    lines = "\n".join(failure_lines(report))
    if report.interrupted:
        typer.echo(summary)
        typer.echo(lines, err=True)
        raise typer.Exit(130)
    if not report.ok:
        refused = [r for r in report.results if r.message.startswith(REFUSED)]
        hint = "Fix the cause and run destroy again."
        if refused:
            hint = (
                f"{len(refused)} removal(s) refused: those objects hold data the plan did not "
                "show and were kept; run destroy again to see them as they are now."
            )
        raise ApplyError(f"{summary}\n{lines}\n{hint}")
    typer.echo(summary)
    kept = [c for c in plan.changes if c.action is Action.FORGET]
    if kept:
        typer.echo(f"Kept {len(kept)} object(s); see the reasons above.")
    if site is not None:
        typer.echo(
            f"The site file of {site} still declares it: remove it from the blueprint's site "
            "folder, or `provision apply` / `provision onboard` will create the site again."
        )
