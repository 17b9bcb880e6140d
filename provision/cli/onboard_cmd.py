"""`provision onboard SITE --blueprint B`: add a site and bring it up in one command (see
`provision.workflows.onboard`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from provision.cli.app import app
from provision.cli.confirm import YesOption, assumes_yes
from provision.cli.target import (
    CredentialsOption,
    EmulatorOption,
    EndpointOption,
    ImpersonateOption,
    TargetOptions,
)


@app.command()
def onboard(
    site: Annotated[str, typer.Argument(help="The new site's name (e.g. st-marys).")],
    blueprint: Annotated[
        Path, typer.Option("--blueprint", help="The blueprint whose `sites` gets the site.")
    ],
    location: Annotated[
        str | None,
        typer.Option(help="Healthcare location of the site (default: sites.defaultLocation)."),
    ] = None,
    bucket: Annotated[
        str | None,
        typer.Option(
            help="gs:// URI of the site's DICOM files; the site template can use it as "
            "`{import_uri}`."
        ),
    ] = None,
    config_dir: Annotated[
        Path | None,
        typer.Option(help="Where to write the site's viewer configs (default: out/SITE)."),
    ] = None,
    viewer_url: Annotated[
        str | None,
        typer.Option(
            help="Base URL the viewer configs use (default: --endpoint, "
            "http://127.0.0.1:8765 with --emulator, else Google)."
        ),
    ] = None,
    yes: YesOption = False,
    endpoint: EndpointOption = None,
    emulator: EmulatorOption = False,
    credentials: CredentialsOption = None,
    impersonate_service_account: ImpersonateOption = None,
) -> None:
    """Add a site file, validate, plan and apply only that site, and write its viewer configs.

    Exit codes: 0 done (also when there was nothing to do), 1 error (the site file is removed
    again when it was just written and nothing was applied), 130 interrupted.
    """
    from provision.cli.terminal import TerminalUi
    from provision.workflows.onboard import SiteRequest
    from provision.workflows.onboard import onboard as run

    request = SiteRequest(
        site, blueprint, location, bucket, config_dir, viewer_url, endpoint, emulator
    )
    target = TargetOptions(endpoint, emulator, credentials, impersonate_service_account)
    if run(request, TerminalUi(assumes_yes(yes)), target.connector()).interrupted:
        raise typer.Exit(130)
