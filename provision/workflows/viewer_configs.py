"""Viewer configs: OHIF's and Orthanc's text for Google or for an emulator URL (`provision config`),
the two files of one site written into a folder, and the OAuth checklist as text."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from provision.blueprint.loader import LoadedBlueprint, load
from provision.blueprint.oauth import oauth_checklist
from provision.blueprint.schema import Blueprint
from provision.errors import ProvisionError, ViewerConfigError
from provision.outputs.ohif import ohif_config
from provision.outputs.orthanc import orthanc_config, orthanc_json, orthanc_setup_notes

OHIF_FILE = "ohif-config.js"
ORTHANC_FILE = "orthanc.json"


def write_viewer_configs(
    loaded: LoadedBlueprint, site: str, out_dir: Path, base_url: str | None
) -> list[str]:
    """Write `ohif-config.js` and `orthanc.json` for the site's stores into `out_dir`.

    `base_url` None means real Google; otherwise the configs point there with no sign-in.
    Returns one line per file written or skipped (a config that cannot be made for this
    blueprint, e.g. OHIF without `oauth.clientId`, is skipped with the reason).
    """
    blueprint = loaded.blueprint
    makers: dict[str, Callable[[], str]] = {
        OHIF_FILE: lambda: ohif_text(blueprint, site, base_url),
        ORTHANC_FILE: lambda: orthanc_text(blueprint, site, base_url),
    }
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ProvisionError(f"cannot create {out_dir}: {error.strerror or error}") from None
    lines = []
    for name, make in makers.items():
        try:
            text = make()
        except ViewerConfigError as error:
            lines.append(f"{name} not written: {error}")
            continue
        target = out_dir / name
        try:
            target.write_text(text, encoding="utf-8")
        except OSError as error:
            raise ProvisionError(f"cannot write {target}: {error.strerror or error}") from None
        lines.append(f"wrote {target} (stores at {base_url or 'Google Cloud Healthcare'})")
    return lines


def ohif_text(blueprint: Blueprint, site: str | None, base_url: str | None) -> str:
    """OHIF's `app-config.js` for the stores of `site` (all without), at Google (`base_url`
    None) or at the emulator at `base_url`."""
    if base_url is None:
        return ohif_config(blueprint, site=site)
    return ohif_config(blueprint, site=site, base_url=base_url, emulator=True)


def orthanc_text(
    blueprint: Blueprint,
    site: str | None,
    base_url: str | None,
    credentials_file: str | None = None,
) -> str:
    """Orthanc's JSON config, like `ohif_text`; `credentials_file`: the key file's path on the
    Orthanc host."""
    if base_url is None:
        config = orthanc_config(blueprint, site=site, credentials_file=credentials_file)
    else:
        config = orthanc_config(
            blueprint,
            site=site,
            credentials_file=credentials_file,
            base_url=base_url,
            emulator=True,
        )
    return orthanc_json(config)


def ohif_file(blueprint: Path, site: str | None, base_url: str | None) -> str:
    """`provision config ohif`: `ohif_text` of the blueprint at `blueprint`."""
    return ohif_text(load(blueprint).blueprint, site, base_url)


def orthanc_file(
    blueprint: Path, site: str | None, base_url: str | None, credentials_file: str | None
) -> tuple[str, list[str]]:
    """`provision config orthanc`: `orthanc_text` of the blueprint at `blueprint`, and the
    steps to install it."""
    text = orthanc_text(load(blueprint).blueprint, site, base_url, credentials_file)
    emulator = base_url is not None
    return text, orthanc_setup_notes(emulator=emulator, credentials_file=credentials_file)


def oauth_lines(blueprint: Path) -> list[str]:
    """`provision config oauth`: the numbered manual OAuth steps, with the values to enter."""
    items = oauth_checklist(load(blueprint).blueprint)
    if not items:
        return ["The blueprint has no `oauth` section: no browser sign-in to set up."]
    lines = []
    for number, item in enumerate(items, start=1):
        lines.append(f"{number}. {item.title}")
        lines += [f"   - {line}" for line in item.lines]
    return lines
