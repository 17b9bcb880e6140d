"""`provision apply (BLUEPRINT | PLANFILE)`: make the planned changes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from provision.cli.options import (
    Format,
    FormatOption,
    LeaseWaitOption,
    SiteOption,
    YesOption,
    assumes_yes,
    command,
)

if TYPE_CHECKING:
    from provision.cli.target import TargetOptions
    from provision.workflows.sequence import Flags

SourceArg = Annotated[
    Path,
    typer.Argument(
        help="A blueprint YAML file, or a plan saved with `plan --out`.", show_default=False
    ),
]


@command()
def apply(
    source: SourceArg,
    *,
    flags: Flags,
    target: TargetOptions,
    site: SiteOption = None,
    yes: YesOption = False,
    lease_wait: LeaseWaitOption = 0.0,
    output_format: FormatOption = Format.text,
) -> None:
    """Apply a blueprint (plans, shows the plan, asks to confirm) or a saved plan.

    Writes happen under the project's single-writer lease (README "Single-writer lease"). A saved
    plan is planned again and refused unless that plan makes each of its decisions (see
    `provision.saved_plan`); the new plan is what is shown and applied. Exit codes: 0 success,
    1 failure (the summary lists done / failed / skipped), 130 interrupted.
    """
    from provision.cli.terminal import terminal
    from provision.workflows.apply import apply as run

    with terminal(output_format, "apply", yes=assumes_yes(yes)) as ui:
        finished = run(source, flags, ui, target.connector(), site=site, wait=lease_wait)
        if finished.interrupted:
            raise typer.Exit(130)
