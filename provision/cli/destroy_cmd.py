"""`provision destroy BLUEPRINT [--site SITE]`: remove what the blueprint made, safely.

Shows what it would remove and what it keeps (and why), asks to confirm like `apply`, then runs
the removals through the ordinary applier in reverse dependency order. See `provision.destroy`
for the rules: only owned objects, nothing holding data unless named, datasets and the project
only when named, APIs only with --disable-services, IAM: only the blueprint's members.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated

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
    from provision.apply import apply_plan, failure_lines
    from provision.blueprint.expand import expand
    from provision.blueprint.loader import load
    from provision.cli import lease_step
    from provision.cli.engine_flags import engine_options
    from provision.cli.reporter import StderrReporter
    from provision.destroy import plan_destroy
    from provision.errors import ApplyError, ProvisionError
    from provision.model import Action
    from provision.outputs import plan_text
    from provision.resources.base import Context
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
    named = list(allow_delete or [])
    target = TargetOptions(endpoint, emulator, credentials, impersonate_service_account)
    with connect(target) as connection:
        options = engine_options(connection.api, named, None, allow_remove_own_access)
        ctx = Context.create(connection.api, options)
        step = lease_step.prepare(connection.api, loaded.blueprint)
        result = plan_destroy(
            loaded, ctx, only=only, named=frozenset(named), disable_services=disable_services
        )
        plan = result.plan
        if not plan.changes:
            why = plan.warnings[0] if plan.warnings else "none of the blueprint's objects exist"
            typer.echo(f"Nothing to remove: {why}.")
            return
        text = plan_text.render(plan, color=sys.stdout.isatty())
        typer.echo(text.replace("Planned changes for", "Planned removals for", 1), nl=False)
        if not plan.has_changes:
            typer.echo("Nothing to remove.")
            return
        confirm(assumes_yes(yes))
        run_ctx = Context.create(connection.api, replace(options, allow_delete=result.allowed))
        with lease_step.hold(step, wait=0.0) as held:
            lease_step.refuse_if_others_wrote(held)
            report = apply_plan(plan, run_ctx, reporter=StderrReporter())
    if report.interrupted:
        typer.echo(report.summary().replace("Apply", "Destroy", 1))
        typer.echo("\n".join(failure_lines(report)), err=True)
        raise typer.Exit(130)
    if not report.ok:
        lines = "\n".join(failure_lines(report))
        raise ApplyError(
            f"{report.summary().replace('Apply', 'Destroy', 1)}\n{lines}\n"
            "Fix the cause and run destroy again."
        )
    typer.echo(report.summary().replace("Apply", "Destroy", 1))
    kept = [c for c in plan.changes if c.action is Action.FORGET]
    if kept:
        typer.echo(f"Kept {len(kept)} object(s); see the reasons above.")
    if site is not None:
        typer.echo(
            f"The site file of {site} still declares it: remove it from the blueprint's site "
            "folder, or `provision apply` / `provision onboard` will create the site again."
        )
