"""`provision validate BLUEPRINT`: check a blueprint without talking to Google, and with
`--check-permissions`, whether the applying identity may apply it (asks Google, writes nothing)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from provision.cli.app import app
from provision.cli.target import (
    CredentialsOption,
    EmulatorOption,
    EndpointOption,
    ImpersonateOption,
    TargetOptions,
)


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
        from provision.outputs import permissions_text
        from provision.workflows.inspect import check_permissions as check

        target = TargetOptions(endpoint, emulator, credentials, impersonate_service_account)
        found = check(loaded, target.connector())
        typer.echo(f"Permissions of {found.who} on {found.target}:")
        typer.echo(permissions_text.render(found.results, found.grant), nl=False)
        if found.missing:
            raise typer.Exit(1)
