"""`provision onboard SITE --blueprint B`: add a site and bring it up in one command (see
`provision.workflows.onboard`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from provision.cli.options import LeaseWaitOption, YesOption, assumes_yes, command

if TYPE_CHECKING:
    from provision.cli.target import TargetOptions

Text = str | None


@command()
def onboard(
    site: Annotated[str, typer.Argument(help="The new site's name (e.g. st-marys).")],
    *,
    target: TargetOptions,
    blueprint: Annotated[Path, typer.Option(help="The blueprint whose `sites` gets the site.")],
    location: Annotated[
        Text, typer.Option(help="Its location (default: sites.defaultLocation).")
    ] = None,
    bucket: Annotated[
        Text, typer.Option(help="gs:// URI of its DICOM files (`{import_uri}`).")
    ] = None,
    config_dir: Annotated[
        Path | None, typer.Option(help="Where its viewer configs go (default: out/SITE).")
    ] = None,
    viewer_url: Annotated[
        Text, typer.Option(help="Base URL of the viewer configs (default: the target's).")
    ] = None,
    yes: YesOption = False,
    lease_wait: LeaseWaitOption = 0.0,
) -> None:
    """Add a site file, validate, plan and apply only that site, and write its viewer configs.

    Exit codes: 0 done (also when there was nothing to do), 1 error (the site file is removed
    again when it was just written and nothing was applied), 130 interrupted.
    """
    from provision.cli.terminal import TerminalUi
    from provision.workflows.onboard import SiteRequest
    from provision.workflows.onboard import onboard as run

    emulator = target.emulator or target.emulator_state is not None
    request = SiteRequest(
        site,
        blueprint,
        location,
        bucket,
        config_dir,
        viewer_url,
        target.endpoint,
        emulator,
        wait=lease_wait,
    )
    if run(request, TerminalUi(assumes_yes(yes)), target.connector()).interrupted:
        raise typer.Exit(130)
