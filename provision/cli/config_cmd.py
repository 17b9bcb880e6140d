"""`provision config ohif|orthanc|oauth`: viewer configuration generated from a blueprint."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from provision.cli.app import app

if TYPE_CHECKING:
    from provision.blueprint.schema import Blueprint

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


@config_app.command()
def ohif(
    blueprint: BlueprintArg,
    site: SiteOpt = None,
    out: OutOpt = None,
    emulator_url: EmulatorOpt = None,
) -> None:
    """OHIF Viewer app config (`window.config = ...`): one data source per DICOM store."""
    from provision.outputs.ohif import ohif_config

    loaded = _load(blueprint)
    if emulator_url is None:
        text = ohif_config(loaded, site=site)
    else:
        text = ohif_config(loaded, site=site, base_url=emulator_url, emulator=True)
    _emit(text, out)


@config_app.command()
def orthanc(
    blueprint: BlueprintArg,
    site: SiteOpt = None,
    out: OutOpt = None,
    emulator_url: EmulatorOpt = None,
    credentials_file: Annotated[
        str | None,
        typer.Option(
            "--credentials-file",
            help="Path of the service-account key file on the Orthanc host (the path only).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Orthanc JSON config: the Google Cloud Platform plugin's accounts, or DICOMweb servers."""
    from provision.outputs.orthanc import orthanc_config, orthanc_json, orthanc_setup_notes

    loaded = _load(blueprint)
    emulator = emulator_url is not None
    if emulator_url is None:
        config = orthanc_config(loaded, site=site, credentials_file=credentials_file)
    else:
        config = orthanc_config(
            loaded,
            site=site,
            credentials_file=credentials_file,
            base_url=emulator_url,
            emulator=True,
        )
    _emit(orthanc_json(config), out)
    for note in orthanc_setup_notes(emulator=emulator, credentials_file=credentials_file):
        typer.echo(f"note: {note}", err=True)


@config_app.command()
def oauth(blueprint: BlueprintArg) -> None:
    """The manual OAuth consent-screen and web-client steps, with the values to enter."""
    from provision.blueprint.oauth import oauth_checklist

    items = oauth_checklist(_load(blueprint))
    if not items:
        typer.echo("The blueprint has no `oauth` section: no browser sign-in to set up.")
        return
    for number, item in enumerate(items, start=1):
        typer.echo(f"{number}. {item.title}")
        for line in item.lines:
            typer.echo(f"   - {line}")


def _load(path: Path) -> Blueprint:
    from provision.blueprint.loader import load

    return load(path).blueprint


def _emit(text: str, out: Path | None) -> None:
    if out is None:
        typer.echo(text, nl=False)
        return
    from provision.files import replace_regular

    replace_regular(out, text)
    typer.echo(f"wrote {out}", err=True)
