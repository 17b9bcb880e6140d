"""`provision config ohif|orthanc|oauth`: viewer configuration generated from a blueprint."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from provision.cli.app import app

config_app = typer.Typer(
    help="Generate viewer configuration (OHIF, Orthanc) and the OAuth checklist.",
    no_args_is_help=True,
)
app.add_typer(config_app, name="config")

BlueprintArg = Annotated[Path, typer.Argument(help="The blueprint file.", show_default=False)]
SiteOpt = Annotated[
    str | None, typer.Option(help="Only the DICOM stores of this site.", show_default=False)
]
OutOpt = Annotated[
    Path | None,
    typer.Option("--out", help="Write to this file instead of stdout.", show_default=False),
]
EmulatorOpt = Annotated[
    str | None,
    typer.Option(
        "--emulator-url",
        help="Point at the emulator at this URL (no sign-in, no credentials).",
        show_default=False,
    ),
]
KeyFileOpt = Annotated[
    str | None,
    typer.Option(
        "--credentials-file",
        help="Path of the service-account key file on the Orthanc host (the path only).",
        show_default=False,
    ),
]


@config_app.command()
def ohif(
    blueprint: BlueprintArg,
    site: SiteOpt = None,
    out: OutOpt = None,
    emulator_url: EmulatorOpt = None,
) -> None:
    """OHIF Viewer app config (`window.config = ...`): one data source per DICOM store."""
    from provision.blueprint.loader import load
    from provision.workflows.viewer_configs import ohif_text

    _emit(ohif_text(load(blueprint).blueprint, site, emulator_url), out)


@config_app.command()
def orthanc(
    blueprint: BlueprintArg,
    site: SiteOpt = None,
    out: OutOpt = None,
    emulator_url: EmulatorOpt = None,
    credentials_file: KeyFileOpt = None,
) -> None:
    """Orthanc JSON config: the Google Cloud Platform plugin's accounts, or DICOMweb servers."""
    from provision.blueprint.loader import load
    from provision.outputs.orthanc import orthanc_setup_notes
    from provision.workflows.viewer_configs import orthanc_text

    loaded = load(blueprint)
    _emit(orthanc_text(loaded.blueprint, site, emulator_url, credentials_file), out)
    emulator = emulator_url is not None
    for note in orthanc_setup_notes(emulator=emulator, credentials_file=credentials_file):
        typer.echo(f"note: {note}", err=True)


@config_app.command()
def oauth(blueprint: BlueprintArg) -> None:
    """The manual OAuth consent-screen and web-client steps, with the values to enter."""
    from provision.blueprint.loader import load
    from provision.blueprint.oauth import oauth_checklist

    items = oauth_checklist(load(blueprint).blueprint)
    if not items:
        typer.echo("The blueprint has no `oauth` section: no browser sign-in to set up.")
    for number, item in enumerate(items, start=1):
        typer.echo(f"{number}. {item.title}")
        for line in item.lines:
            typer.echo(f"   - {line}")


def _emit(text: str, out: Path | None) -> None:
    if out is None:
        typer.echo(text, nl=False)
        return
    from provision.files import replace_regular

    replace_regular(out, text)
    typer.echo(f"wrote {out}", err=True)
