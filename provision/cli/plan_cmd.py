"""`provision plan BLUEPRINT`: read the live state and show what apply would change."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from provision.cli.options import BlueprintArg, PlanFormat, SiteOption, command, conflict

if TYPE_CHECKING:
    from provision.cli.target import TargetOptions
    from provision.workflows.sequence import Flags


@command()
def plan(
    blueprint: BlueprintArg,
    *,
    flags: Flags,
    target: TargetOptions,
    site: SiteOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Save the plan here for `provision apply`.")
    ] = None,
    output_format: Annotated[
        PlanFormat | None, typer.Option("--format", help="Output format.", show_default="text")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
    detailed_exitcode: Annotated[
        bool,
        typer.Option(
            "--detailed-exitcode", help="Exit 0 when there are no changes, 2 when there are."
        ),
    ] = False,
) -> None:
    """Show the changes that `provision apply` would make (reads only; changes nothing).

    Exit codes: 0 success (with --detailed-exitcode: no changes), 2 changes present
    (--detailed-exitcode only), 1 error.
    """
    from provision.cli.terminal import TerminalUi
    from provision.outputs import plan_json, plan_markdown, plan_text
    from provision.workflows.inspect import plan as run

    if json_output and output_format not in (None, PlanFormat.json):
        raise conflict("--json", f"--format {output_format}", "--json is --format json")
    chosen = PlanFormat.json if json_output else output_format or PlanFormat.text
    result = run(blueprint, flags, target.connector(), site=site, out=out)
    ui = TerminalUi()
    if chosen is PlanFormat.text:
        ui.show_plan(result, plan_text.default_heading(result))
    else:
        render = plan_json.render if chosen is PlanFormat.json else plan_markdown.render
        typer.echo(render(result), nl=False)
        ui.warn(result.warnings)
    if out is not None:
        ui.note(f"Saved the plan to {out}; apply it with: provision apply {out}")
    if detailed_exitcode and result.has_changes:
        raise typer.Exit(2)
