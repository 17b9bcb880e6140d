"""`provision viewer BLUEPRINT`: the OHIF Viewer on localhost with the blueprint's DICOM stores."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from provision.cli.app import app
from provision.cli.target import EmulatorOption, EndpointOption, TargetOptions


@app.command()
def viewer(
    blueprint: Annotated[Path, typer.Argument(help="The blueprint file.", show_default=False)],
    site: Annotated[
        str | None, typer.Option(help="Only the DICOM stores of this site.", show_default=False)
    ] = None,
    port: Annotated[
        int,
        typer.Option(min=0, max=65535, help="Port on localhost (0 picks a free one)."),
    ] = 3000,
    ohif_dist: Annotated[
        Path | None,
        typer.Option(
            "--ohif-dist",
            help="Serve this OHIF build folder instead of the pinned @ohif/app release.",
            show_default=False,
        ),
    ] = None,
    endpoint: EndpointOption = None,
    emulator: EmulatorOption = False,
) -> None:
    """Serve the OHIF Viewer on http://localhost:PORT with a config for the blueprint's stores.

    With --endpoint or --emulator the viewer reads that emulator, without sign-in; otherwise it
    reads Google Cloud Healthcare and signs in with the blueprint's OAuth client. The viewer is
    the npm package @ohif/app at a pinned version, fetched once into the cache directory and
    checked against the registry's sha512 integrity. Runs until Ctrl-C.
    """
    from provision.cli.terminal import TerminalUi
    from provision.viewer.session import ViewerRequest, run

    uses_emulator = emulator or endpoint is not None
    connect = TargetOptions(endpoint, emulator).connector() if uses_emulator else None
    run(ViewerRequest(blueprint, site, port, ohif_dist), TerminalUi(), connect)
