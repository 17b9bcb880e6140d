"""`provision export --project P`: write a blueprint of what a live project holds."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from provision.cli.options import Format, FormatOption, command

if TYPE_CHECKING:
    from provision.cli.target import TargetOptions


@command()
def export(
    *,
    target: TargetOptions,
    project: Annotated[str, typer.Option("--project", help="The project to export.")],
    location: Annotated[
        str | None,
        typer.Option(help="Healthcare location of its datasets [default: us-central1]."),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder to write blueprint.yaml to.")] = Path(
        "."
    ),
    output_format: FormatOption = Format.text,
) -> None:
    """Read a live project (reads only) and write a blueprint of it, every existing dataset,
    DICOM store and bucket adopted, so that `provision plan` of it says No changes."""
    from provision.cli.terminal import terminal
    from provision.workflows.export import ExportRequest
    from provision.workflows.export import export as run

    with terminal(output_format, "export") as ui:
        run(ExportRequest(project, location, out), ui, target.connector())
