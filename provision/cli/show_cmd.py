"""`provision show BLUEPRINT`: what the blueprint manages, live (reads only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from provision.cli.options import BlueprintArg, Format, FormatOption, SiteOption, command

if TYPE_CHECKING:
    from provision.cli.target import TargetOptions


@command()
def show(
    blueprint: BlueprintArg,
    *,
    target: TargetOptions,
    site: SiteOption = None,
    output_format: FormatOption = Format.text,
) -> None:
    """List each managed object with its live identifiers and outputs: the project number,
    each store's DICOMweb URL, the service agent's e-mail, bucket URIs, import status. Reads
    only."""
    from provision.cli.terminal import terminal
    from provision.outputs import show_text
    from provision.workflows.show import show as run

    with terminal(output_format, "show") as ui:
        objects = run(blueprint, ui, target.connector(), site=site)
        if output_format is Format.text:
            typer.echo(show_text.render(objects), nl=False)
