"""`provision config ohif|orthanc|oauth`: viewer configuration generated from a blueprint."""

from __future__ import annotations

from typing import Annotated

import typer

from provision.cli.app import config_app
from provision.cli.options import BlueprintArg, OutFileOption, SiteOption, command
from provision.cli.target import TargetOptions

KeyFileOption = Annotated[
    str | None,
    typer.Option(
        "--credentials-file",
        help="Path of the service-account key file on the Orthanc host (the path only).",
        show_default=False,
    ),
]


@command(parent=config_app)
def ohif(
    blueprint: BlueprintArg,
    *,
    target: TargetOptions,
    site: SiteOption = None,
    out: OutFileOption = None,
) -> None:
    """OHIF Viewer app config (`window.config = ...`): one data source per DICOM store, at
    Google (signing in) or at --endpoint / --emulator (no sign-in)."""
    from provision.cli.terminal import emit_text
    from provision.workflows.viewer_configs import ohif_file

    emit_text(ohif_file(blueprint, site, target.viewer_url()), out)


@command(parent=config_app)
def orthanc(
    blueprint: BlueprintArg,
    *,
    target: TargetOptions,
    site: SiteOption = None,
    out: OutFileOption = None,
    credentials_file: KeyFileOption = None,
) -> None:
    """Orthanc JSON config: the Google Cloud Platform plugin's accounts, or DICOMweb servers."""
    from provision.cli.terminal import emit_text
    from provision.workflows.viewer_configs import orthanc_file

    text, notes = orthanc_file(blueprint, site, target.viewer_url(), credentials_file)
    emit_text(text, out, notes=notes)


@command(parent=config_app)
def oauth(blueprint: BlueprintArg) -> None:
    """The manual OAuth consent-screen and web-client steps, with the values to enter."""
    from provision.workflows.viewer_configs import oauth_lines

    typer.echo("\n".join(oauth_lines(blueprint)))
