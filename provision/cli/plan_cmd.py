"""`provision plan BLUEPRINT`: read the live state and show what apply would change."""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from provision.cli.app import app
from provision.cli.engine_flags import (
    AllowDeleteOption,
    AllowDisableOption,
    AllowOwnAccessOption,
    ReimportOption,
    engine_options,
)
from provision.cli.target import (
    CredentialsOption,
    EmulatorOption,
    EndpointOption,
    ImpersonateOption,
    TargetOptions,
    connect,
)

if TYPE_CHECKING:
    from provision.model import Plan


class Format(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


@app.command()
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
    import sys

    from provision import planfile
    from provision.blueprint.loader import load
    from provision.files import check_writable
    from provision.plan import plan_blueprint
    from provision.resources.base import Context

    loaded = load(blueprint)
    if out is not None:
        check_writable(out, loaded.files, what="plan file")
    only = None
    if site is not None:
        from provision.blueprint.expand import expand
        from provision.site_scope import site_addresses

        only = site_addresses(loaded, expand(loaded), site)
    target = TargetOptions(endpoint, emulator, credentials, impersonate_service_account)
    with connect(target) as connection:
        options = engine_options(
            connection.api,
            allow_delete,
            allow_disable_service,
            allow_remove_own_access,
            reimport,
        )
        result = plan_blueprint(loaded, Context.create(connection.api, options), only=only)
    result = replace(result, site=site)
    if out is not None:
        planfile.write(result, out, loaded.files)
    chosen = Format.json if json_output else output_format
    typer.echo(render(result, chosen, color=sys.stdout.isatty()), nl=False)
    if out is not None:
        print(f"Saved the plan to {out}; apply it with: provision apply {out}", file=sys.stderr)
    if detailed_exitcode and result.has_changes:
        raise typer.Exit(2)


def render(result: Plan, chosen: Format, *, color: bool = False) -> str:
    from provision.outputs import plan_json, plan_markdown, plan_text

    if chosen is Format.json:
        return plan_json.render(result)
    if chosen is Format.markdown:
        return plan_markdown.render(result)
    return plan_text.render(result, color=color)
