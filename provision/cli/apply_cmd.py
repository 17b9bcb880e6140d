"""`provision apply (BLUEPRINT | PLANFILE)`: make the planned changes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from provision.cli.app import app
from provision.cli.confirm import YesOption, assumes_yes, confirm
from provision.cli.engine_flags import (
    AllowDeleteOption,
    AllowDisableOption,
    AllowOwnAccessOption,
    ReimportOption,
    engine_options,
)
from provision.cli.lease_step import LeaseWaitOption
from provision.cli.target import (
    CredentialsOption,
    EmulatorOption,
    EndpointOption,
    ImpersonateOption,
    TargetOptions,
    connect,
)


@app.command()
def apply(
    source: Annotated[
        Path, typer.Argument(help="A blueprint YAML file, or a plan saved with `plan --out`.")
    ],
    yes: YesOption = False,
    allow_delete: AllowDeleteOption = None,
    allow_disable_service: AllowDisableOption = None,
    allow_remove_own_access: AllowOwnAccessOption = False,
    reimport: ReimportOption = False,
    lease_wait: LeaseWaitOption = 0.0,
    endpoint: EndpointOption = None,
    emulator: EmulatorOption = False,
    credentials: CredentialsOption = None,
    impersonate_service_account: ImpersonateOption = None,
) -> None:
    """Apply a blueprint (plans, shows the plan, asks to confirm) or a saved plan.

    Writes happen under the project's single-writer lease (README "Single-writer lease"). A saved
    plan is planned again and refused unless that plan makes each of its decisions (see
    `provision.saved_plan`); the new plan is what is shown and applied. Exit codes: 0 success,
    1 failure (the summary lists done / failed / skipped), 130 interrupted.
    """
    from provision import planfile
    from provision.apply import apply_plan, check_deletes_allowed, failure_lines
    from provision.blueprint.loader import load
    from provision.cli import lease_step
    from provision.cli.reporter import StderrReporter
    from provision.errors import ApplyError
    from provision.outputs import plan_text
    from provision.plan import plan_blueprint
    from provision.resources.base import Context
    from provision.saved_plan import check_scope, replanned, saved_blueprint

    saved = planfile.read(source) if planfile.looks_like_plan(source) else None
    if saved is not None:
        loaded = saved_blueprint(saved)
        check_scope(saved, loaded)
    else:
        loaded = load(source)
    target = TargetOptions(endpoint, emulator, credentials, impersonate_service_account)
    with connect(target) as connection:
        options = engine_options(
            connection.api,
            allow_delete,
            allow_disable_service,
            allow_remove_own_access,
            reimport,
        )
        ctx = Context.create(connection.api, options)
        assume_yes = assumes_yes(yes)
        if saved is not None:
            check_deletes_allowed(saved, options)
        step = lease_step.prepare(connection.api, loaded.blueprint)
        plan = plan_blueprint(loaded, ctx) if saved is None else replanned(saved, loaded, ctx)
        color = sys.stdout.isatty()
        typer.echo(plan_text.render(plan, color=color), nl=False)
        if not plan.has_changes:
            return
        if saved is None:
            confirm(assume_yes)
        with lease_step.hold(step, wait=lease_wait) as held:
            if saved is None:
                fresh = lease_step.replan_if_others_wrote(
                    held,
                    plan,
                    lambda: plan_blueprint(loaded, ctx),
                    show=lambda p: typer.echo(plan_text.render(p, color=color), nl=False),
                    assume_yes=assume_yes,
                )
                if fresh is None:
                    return
                plan = fresh
            elif held is not None and not held.trusted:
                plan = replanned(saved, loaded, ctx)  # another run held the lease since
            report = apply_plan(plan, ctx, reporter=StderrReporter())
    if report.interrupted:
        typer.echo(report.summary())
        typer.echo("\n".join(failure_lines(report)), err=True)
        raise typer.Exit(130)
    if report.ok:
        typer.echo(report.summary())
    else:
        lines = "\n".join(failure_lines(report))
        raise ApplyError(f"{report.summary()}\n{lines}\nFix the cause and run apply again.")
