"""`provision plan BLUEPRINT`: read the live state and show what apply would change."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from provision.cli.app import app
from provision.cli.engine_flags import (
    AllowDeleteOption,
    AllowDisableOption,
    AllowOwnAccessOption,
    ReimportCommand,
    ReimportOnlyOption,
    ReimportOption,
    engine_flags,
)
from provision.cli.target import (
    CredentialsOption,
    EmulatorOption,
    EndpointOption,
    ImpersonateOption,
    TargetOptions,
)


class Format(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


@app.command(cls=ReimportCommand)
def plan(
    blueprint: Annotated[Path, typer.Argument(help="The blueprint YAML file.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Save the plan here for `provision apply`.")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
    output_format: Annotated[Format, typer.Option("--format", help="Output format.")] = (
        Format.text
    ),
    detailed_exitcode: Annotated[
        bool,
        typer.Option(
            "--detailed-exitcode", help="Exit 0 when there are no changes, 2 when there are."
        ),
    ] = False,
    allow_delete: AllowDeleteOption = None,
    allow_disable_service: AllowDisableOption = None,
    allow_remove_own_access: AllowOwnAccessOption = False,
    reimport: ReimportOption = False,
    reimport_only: ReimportOnlyOption = None,
    site: Annotated[
        str | None,
        typer.Option(help="Only this site's objects and what they depend on."),
    ] = None,
    endpoint: EndpointOption = None,
    emulator: EmulatorOption = False,
    credentials: CredentialsOption = None,
    impersonate_service_account: ImpersonateOption = None,
) -> None:
    """Show the changes that `provision apply` would make (reads only; changes nothing).

    Exit codes: 0 success (with --detailed-exitcode: no changes), 2 changes present
    (--detailed-exitcode only), 1 error.
    """
    from provision.outputs import plan_json, plan_markdown, plan_text
    from provision.workflows.inspect import plan as run

    flags = engine_flags(
        allow_delete, allow_disable_service, allow_remove_own_access, reimport, reimport_only
    )
    target = TargetOptions(endpoint, emulator, credentials, impersonate_service_account)
    result = run(blueprint, flags, target.connector(), site=site, out=out)
    chosen = Format.json if json_output else output_format
    renderers = {Format.json: plan_json.render, Format.markdown: plan_markdown.render}
    text = renderers.get(chosen, lambda p: plan_text.render(p, color=sys.stdout.isatty()))
    typer.echo(text(result), nl=False)
    if out is not None:
        typer.echo(f"Saved the plan to {out}; apply it with: provision apply {out}", err=True)
    if detailed_exitcode and result.has_changes:
        raise typer.Exit(2)
