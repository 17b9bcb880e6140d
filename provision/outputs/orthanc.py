"""Orthanc configuration that connects Orthanc to the blueprint's DICOM stores.

Two shapes, one JSON file each, meant for Orthanc's configuration folder (Debian: `/etc/orthanc/`,
where every `*.json` is read at start-up):

* Real Google: a `GoogleCloudPlatform` section for Orthanc's Google Cloud Platform plugin, one
  account per store, authenticating with a service-account key *file* (the path only; the key
  never enters the config). The plugin registers each account as a DICOMweb server named after it
  and keeps its bearer token fresh. No packaged file defines this section, so the file sits next to
  the others (e.g. `/etc/orthanc/gcp.json`).
* Emulator, or any DICOMweb server that needs no token: a `DicomWeb` section whose `Servers` list
  the stores. Orthanc merges its configuration files by top-level section only and refuses to start
  when two files define the same section, so this file carries the whole `DicomWeb` section (the
  server options of Debian's packaged `dicomweb.json` plus `Servers`) and replaces
  `/etc/orthanc/dicomweb.json`.

`orthanc_setup_notes` says where the file goes and what else Orthanc needs.
"""

from __future__ import annotations

import json
from typing import Any

from provision.blueprint.schema import Blueprint
from provision.errors import ViewerConfigError
from provision.outputs.stores import (
    GOOGLE_HEALTHCARE_URL,
    StoreRef,
    normalise_base_url,
    select_stores,
    store_names,
)

DEFAULT_SERVICE_ACCOUNT_FILE = "/etc/orthanc/google-service-account.json"
"""Key file path used when none is given; the notes tell the user to put the key there."""

GCP_CONFIG_PATH = "/etc/orthanc/gcp.json"
DICOMWEB_CONFIG_PATH = "/etc/orthanc/dicomweb.json"

DEBIAN_DICOMWEB_SERVER_OPTIONS: dict[str, Any] = {
    "Enable": True,
    "Root": "/dicom-web/",
    "EnableWado": True,
    "WadoRoot": "/wado",
    "Host": "localhost",
    "Ssl": False,
}
"""The server-side options Debian's `orthanc-dicomweb` ships in `/etc/orthanc/dicomweb.json`."""


def orthanc_config(
    blueprint: Blueprint,
    *,
    site: str | None = None,
    credentials_file: str | None = None,
    base_url: str = GOOGLE_HEALTHCARE_URL,
    emulator: bool = False,
) -> dict[str, Any]:
    """The Orthanc configuration (one JSON object) for every store of `blueprint` (or `site`).

    Real Google: `{"GoogleCloudPlatform": {...}}`, `ServiceAccountFile` = `credentials_file` or
    `DEFAULT_SERVICE_ACCOUNT_FILE`. Emulator: `{"DicomWeb": {...server options, "Servers": ...}}`
    with each store at `base_url`. Never contains a token or key material.
    """
    base = normalise_base_url(base_url)
    stores = select_stores(blueprint, site)
    names = store_names(stores)
    if emulator:
        if base == GOOGLE_HEALTHCARE_URL:
            raise ViewerConfigError(
                "an emulator config needs the emulator's URL "
                "(e.g. --emulator-url http://127.0.0.1:8765)"
            )
        if credentials_file is not None:
            raise ViewerConfigError(
                "--credentials-file is for real Google; the emulator needs no credentials"
            )
        servers = {
            name: _dicomweb_server(store, base) for name, store in zip(names, stores, strict=True)
        }
        return {"DicomWeb": {**DEBIAN_DICOMWEB_SERVER_OPTIONS, "Servers": servers}}
    key_file = credentials_file if credentials_file is not None else DEFAULT_SERVICE_ACCOUNT_FILE
    _check_key_file_path(key_file)
    accounts = {
        name: _gcp_account(store, key_file) for name, store in zip(names, stores, strict=True)
    }
    return {"GoogleCloudPlatform": {"BaseUrl": f"{base}/v1/", "Accounts": accounts}}


def orthanc_json(config: dict[str, Any]) -> str:
    """The configuration as a JSON document (2-space indent, final newline, stable key order)."""
    return json.dumps(config, indent=2, ensure_ascii=True) + "\n"


def orthanc_setup_notes(*, emulator: bool, credentials_file: str | None = None) -> list[str]:
    """Plain-language steps for installing the file `orthanc_config` produced with these options."""
    if emulator:
        return [
            f"Save this file as {DICOMWEB_CONFIG_PATH}, replacing the packaged one: it holds the "
            "whole DicomWeb section (the packaged server options plus Servers), and Orthanc "
            "refuses to start when two configuration files define the same section.",
            "Restart Orthanc; the stores are listed at /dicom-web/servers/.",
        ]
    notes = [
        f"Save this file next to the other configuration files (e.g. {GCP_CONFIG_PATH}); it "
        "defines only the GoogleCloudPlatform section, so the packaged files stay as they are.",
        "Install Orthanc's Google Cloud Platform plugin (libOrthancGoogleCloudPlatform; there is "
        "no Debian package) where orthanc.json's Plugins setting finds it, with the DICOMweb "
        "plugin (Debian: orthanc-dicomweb).",
        'In orthanc.json set "HttpsCACertificates": "/etc/ssl/certs/ca-certificates.crt" so '
        'Orthanc can verify Google\'s certificates; raise "HttpTimeout" for large studies.',
    ]
    if credentials_file is None:
        notes.append(
            f"Put the service account's JSON key at {DEFAULT_SERVICE_ACCOUNT_FILE} (readable by "
            "the orthanc user only), or regenerate with --credentials-file PATH."
        )
    else:
        notes.append(
            f"Make {credentials_file} readable by the orthanc user only; it holds the "
            "service account's key."
        )
    notes.append(
        "The service account needs a DICOM role on the stores (e.g. roles/healthcare.dicomEditor "
        "in the blueprint's iam). Restart Orthanc; each store is listed at /dicom-web/servers/."
    )
    return notes


def _gcp_account(store: StoreRef, key_file: str) -> dict[str, str]:
    return {
        "Project": store.project,
        "Location": store.location,
        "Dataset": store.dataset,
        "DicomStore": store.store,
        "ServiceAccountFile": key_file,
    }


def _dicomweb_server(store: StoreRef, base: str) -> dict[str, Any]:
    return {
        "Url": store.dicomweb_url(base) + "/",
        "HasDelete": True,
        # Plain DICOMweb servers (the emulator included) may not parse chunked STOW bodies.
        "ChunkedTransfers": False,
    }


def _check_key_file_path(path: str) -> None:
    """Refuse what looks like key material instead of a path, so a key never lands in a config."""
    stripped = path.strip()
    if not stripped or "\n" in path or stripped.startswith("{") or "PRIVATE KEY" in path:
        raise ViewerConfigError(
            "--credentials-file must be the path of a service-account key file, not its content"
        )
