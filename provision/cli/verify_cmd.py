"""`provision verify BLUEPRINT`: check that the provisioned site works (reads only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from provision.cli.options import BlueprintArg, Format, FormatOption, SiteOption, command

if TYPE_CHECKING:
    from provision.cli.target import TargetOptions


@command()
def verify(
    blueprint: BlueprintArg,
    *,
    target: TargetOptions,
    site: SiteOption = None,
    output_format: FormatOption = Format.text,
) -> None:
    """Check what the site needs to work: DICOMweb answers on every store, imports done with
    studies present, the Healthcare service agent can read every import bucket, and every
    declared dataset / store IAM member holds its role. Exit 0 when all pass, 1 otherwise."""
    from provision.cli.terminal import terminal
    from provision.workflows.inspect import verify as run

    with terminal(output_format, "verify") as ui:
        if not run(blueprint, ui, target.connector(), site=site):
            raise typer.Exit(1)
