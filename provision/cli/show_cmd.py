"""`provision show BLUEPRINT`: what the blueprint manages, live (reads only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from provision.cli.options import BlueprintArg, Format, FormatOption, SiteOption, command

if TYPE_CHECKING:
    from provision.cli.target import TargetOptions


IN_PROCESS_NOTE = (
    "note: the DICOMweb URLs are at this command's in-process emulator, which stopped when it "
    "ended; for URLs that keep working, run `provision emulator serve --state "
    ".provision/emulator.db` and `provision show --endpoint http://127.0.0.1:8765`"
)


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
    only. With `--emulator` a note on stderr says the DICOMweb URLs point at the in-process
    emulator, which stops when the command ends."""
    from provision.cli.terminal import terminal
    from provision.outputs import show_text
    from provision.workflows.show import show as run

    with terminal(output_format, "show") as ui:
        objects = run(blueprint, ui, target.connector(), site=site)
        if target.in_process and any("dicomweb" in o.outputs for o in objects):
            ui.note(IN_PROCESS_NOTE)
        if output_format is Format.text:
            typer.echo(show_text.render(objects), nl=False)
