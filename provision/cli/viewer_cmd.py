"""`provision viewer BLUEPRINT`: the OHIF Viewer on localhost with the blueprint's DICOM stores."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from provision.cli.options import BlueprintArg, SiteOption, command

if TYPE_CHECKING:
    from provision.cli.target import TargetOptions


@command()
def viewer(
    blueprint: BlueprintArg,
    *,
    target: TargetOptions,
    site: SiteOption = None,
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port on localhost (0 picks a free one).")
    ] = 3000,
    ohif_dist: Annotated[
        Path | None,
        typer.Option(
            "--ohif-dist",
            help="Serve this OHIF build folder instead of the pinned @ohif/app release.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve the OHIF Viewer on http://localhost:PORT with a config for the blueprint's stores.

    With --endpoint, --emulator or --emulator-state the viewer reads that emulator, without
    sign-in (--emulator-state FILE: the bundled emulator on that state, e.g. the demo's
    .provision/demo/emulator.db); otherwise it reads Google Cloud Healthcare and signs in with
    the blueprint's OAuth client. The viewer is the npm package @ohif/app at a pinned version,
    fetched once into the cache directory and checked against the registry's sha512 integrity.
    Runs until Ctrl-C.
    """
    from provision.cli.terminal import TerminalUi
    from provision.viewer.session import ViewerRequest, run

    target.anonymous("the viewer signs in in the browser")
    connect = target.connector() if target.uses_emulator else None
    run(ViewerRequest(blueprint, site, port, ohif_dist), TerminalUi(), connect)
