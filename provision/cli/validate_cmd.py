"""`provision validate BLUEPRINT`: check a blueprint without talking to Google, and with
`--check-permissions`, whether the applying identity may apply it (asks Google, writes nothing)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from provision.cli.app import app
from provision.cli.target import (
    CredentialsOption,
    EmulatorOption,
    EndpointOption,
    ImpersonateOption,
    TargetOptions,
)

if TYPE_CHECKING:
    from provision.blueprint.loader import LoadedBlueprint


@app.command()
def validate(
    blueprint: Annotated[Path, typer.Argument(help="The blueprint YAML file.", show_default=False)],
    check_permissions: Annotated[
        bool,
        typer.Option(
            "--check-permissions",
            help="Also ask Google (testIamPermissions) whether the applying identity holds "
            "every permission apply needs; exit 1 if any is missing.",
        ),
    ] = False,
    endpoint: EndpointOption = None,
    emulator: EmulatorOption = False,
    credentials: CredentialsOption = None,
    impersonate_service_account: ImpersonateOption = None,
) -> None:
    """Check a blueprint: syntax, Google's naming rules, references; print every problem."""
    from provision.blueprint.loader import load
    from provision.blueprint.summary import summarize
    from provision.errors import BlueprintError
    from provision.files import shown

    try:
        loaded = load(blueprint)
    except BlueprintError as error:
        for diagnostic in error.diagnostics:
            typer.echo(str(diagnostic), err=True)
        errors = sum(1 for d in error.diagnostics if d.severity == "error")
        noun = "problem" if errors == 1 else "problems"
        typer.echo(f"invalid: {shown(blueprint)} ({errors} {noun})", err=True)
        raise typer.Exit(1) from None
    for warning in loaded.warnings:
        typer.echo(str(warning), err=True)
    typer.echo(f"ok: {shown(blueprint)} ({summarize(loaded.blueprint)})")
    if check_permissions:
        target = TargetOptions(endpoint, emulator, credentials, impersonate_service_account)
        if not report_permissions(loaded, target):
            raise typer.Exit(1)


def report_permissions(loaded: LoadedBlueprint, target: TargetOptions) -> bool:
    """Print the pass/fail table of permissions; True when every checked one is held."""
    from provision.cli.target import connect
    from provision.permissions import check, requirements

    with connect(target) as connection:
        results = check(connection.api, requirements(loaded, connection.api))
        who = connection.api.identity.member or "the applying identity"
        typer.echo(f"Permissions of {who} on {connection.description}:")
    rows = [("RESULT", "KIND", "PERMISSION", "CHECKED ON", "OBJECT / NOTE")]
    for result in results:
        mark = {True: "ok", False: "MISSING", None: "unchecked"}[result.held]
        where = result.requirement.resource or "-"
        about = result.requirement.target
        if result.note:
            about += f" ({result.note})"
        rows.append((mark, result.requirement.kind, result.permission, where, about))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        typer.echo("  ".join([*cells, row[4]]).rstrip())
    missing = [r for r in results if r.held is False]
    unchecked = [r for r in results if r.held is None]
    held = len(results) - len(missing) - len(unchecked)
    summary = f"Permissions: {held} held, {len(missing)} missing, {len(unchecked)} not checked."
    if missing:
        roles = sorted({r.requirement.role for r in missing})
        summary += " Grant: " + "; ".join(roles) + "."
    typer.echo(summary)
    return not missing
