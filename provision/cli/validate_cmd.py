"""`provision validate BLUEPRINT`: check a blueprint without talking to Google."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from provision.cli.app import app


@app.command()
def validate(
    blueprint: Annotated[Path, typer.Argument(help="The blueprint YAML file.", show_default=False)],
) -> None:
    """Check a blueprint: syntax, Google's naming rules, references; print every problem."""
    from provision.blueprint.loader import load
    from provision.blueprint.summary import summarize
    from provision.errors import BlueprintError

    try:
        loaded = load(blueprint)
    except BlueprintError as error:
        for diagnostic in error.diagnostics:
            typer.echo(str(diagnostic), err=True)
        errors = sum(1 for d in error.diagnostics if d.severity == "error")
        noun = "problem" if errors == 1 else "problems"
        typer.echo(f"invalid: {blueprint} ({errors} {noun})", err=True)
        raise typer.Exit(1) from None
    for warning in loaded.warnings:
        typer.echo(str(warning), err=True)
    typer.echo(f"ok: {blueprint} ({summarize(loaded.blueprint)})")
