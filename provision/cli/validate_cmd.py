"""`provision validate BLUEPRINT`: check a blueprint without talking to Google, and with
`--check-permissions`, whether the applying identity may apply it (asks Google, writes nothing)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from provision.cli.options import BlueprintArg, Format, FormatOption, command

if TYPE_CHECKING:
    from provision.cli.target import TargetOptions


@command()
def validate(
    blueprint: BlueprintArg,
    *,
    target: TargetOptions,
    check_permissions: Annotated[
        bool,
        typer.Option(
            "--check-permissions",
            help="Also ask Google (testIamPermissions) whether the applying identity holds "
            "every permission apply needs; exit 1 if any is missing.",
        ),
    ] = False,
    output_format: FormatOption = Format.text,
) -> None:
    """Check a blueprint: syntax, Google's naming rules, references; print every problem."""
    from provision.cli.terminal import terminal
    from provision.workflows.validate import validate as run

    with terminal(output_format, "validate") as ui:
        if not run(blueprint, ui, target.connector() if check_permissions else None):
            raise typer.Exit(1)
