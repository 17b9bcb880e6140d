from __future__ import annotations

import json
from pathlib import Path

import pytest

from provision.errors import ViewerConfigError
from provision.outputs.orthanc import (
    DEBIAN_DICOMWEB_SERVER_OPTIONS,
    DEFAULT_SERVICE_ACCOUNT_FILE,
    orthanc_config,
    orthanc_json,
    orthanc_setup_notes,
)
from tests.unit.outputs.blueprints import blueprint, site_dataset

EMULATOR = "http://127.0.0.1:8765"
KEY_FILE = "/etc/orthanc/keys/viewer-sa.json"


def test_google_config_has_one_plugin_account_per_store() -> None:
    config = orthanc_config(blueprint(), credentials_file=KEY_FILE)
    assert config == {
        "GoogleCloudPlatform": {
            "BaseUrl": "https://healthcare.googleapis.com/v1/",
            "Accounts": {
                "research-ct": {
                    "Project": "demo-imaging",
                    "Location": "europe-west2",
                    "Dataset": "research",
                    "DicomStore": "ct",
                    "ServiceAccountFile": KEY_FILE,
                },
                "research-mr": {
                    "Project": "demo-imaging",
                    "Location": "europe-west2",
                    "Dataset": "research",
                    "DicomStore": "mr",
                    "ServiceAccountFile": KEY_FILE,
                },
            },
        }
    }


def test_google_config_without_key_file_uses_the_documented_default() -> None:
    config = orthanc_config(blueprint())
    accounts = config["GoogleCloudPlatform"]["Accounts"]
    assert {a["ServiceAccountFile"] for a in accounts.values()} == {DEFAULT_SERVICE_ACCOUNT_FILE}
    notes = " ".join(orthanc_setup_notes(emulator=False))
    assert DEFAULT_SERVICE_ACCOUNT_FILE in notes
    assert "--credentials-file" in notes


def test_google_config_does_not_touch_packaged_sections() -> None:
    config = orthanc_config(blueprint())
    assert set(config) == {"GoogleCloudPlatform"}


def test_key_file_content_never_enters_the_config(tmp_path: Path) -> None:
    secret = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n"
    key = tmp_path / "sa.json"
    key.write_text(json.dumps({"type": "service_account", "private_key": secret}))
    text = orthanc_json(orthanc_config(blueprint(), credentials_file=str(key)))
    assert str(key) in text
    assert "PRIVATE KEY" not in text
    assert "service_account" not in text


@pytest.mark.parametrize(
    "value",
    ['{"type": "service_account"}', "-----BEGIN PRIVATE KEY-----abc", "a\nb", "  "],
)
def test_key_material_instead_of_a_path_is_refused(value: str) -> None:
    with pytest.raises(ViewerConfigError, match="path of a service-account key file"):
        orthanc_config(blueprint(), credentials_file=value)


def test_emulator_config_is_a_complete_dicomweb_section() -> None:
    config = orthanc_config(blueprint(), base_url=EMULATOR + "/", emulator=True)
    assert set(config) == {"DicomWeb"}
    section = config["DicomWeb"]
    for key, value in DEBIAN_DICOMWEB_SERVER_OPTIONS.items():
        assert section[key] == value, key
    assert section["Enable"] is True
    assert section["Servers"] == {
        "research-ct": {
            "Url": f"{EMULATOR}/v1/projects/demo-imaging/locations/europe-west2"
            "/datasets/research/dicomStores/ct/dicomWeb/",
            "HasDelete": True,
            "ChunkedTransfers": False,
        },
        "research-mr": {
            "Url": f"{EMULATOR}/v1/projects/demo-imaging/locations/europe-west2"
            "/datasets/research/dicomStores/mr/dicomWeb/",
            "HasDelete": True,
            "ChunkedTransfers": False,
        },
    }


def test_emulator_servers_carry_no_credentials() -> None:
    text = orthanc_json(orthanc_config(blueprint(), base_url=EMULATOR, emulator=True))
    for word in (
        "HttpHeaders",
        "Authorization",
        "Bearer",
        "Password",
        "Username",
        "ServiceAccount",
    ):
        assert word not in text


def test_emulator_refuses_credentials_and_needs_its_url() -> None:
    with pytest.raises(ViewerConfigError, match="needs no credentials"):
        orthanc_config(blueprint(), base_url=EMULATOR, emulator=True, credentials_file=KEY_FILE)
    with pytest.raises(ViewerConfigError, match="emulator's URL"):
        orthanc_config(blueprint(), emulator=True)


def test_site_restricts_accounts() -> None:
    bp = blueprint([site_dataset("north"), site_dataset("south", "us-east4")])
    accounts = orthanc_config(bp, site="north")["GoogleCloudPlatform"]["Accounts"]
    assert list(accounts) == ["north-imaging-primary"]
    assert accounts["north-imaging-primary"]["Location"] == "us-central1"
    servers = orthanc_config(bp, site="south", base_url=EMULATOR, emulator=True)["DicomWeb"][
        "Servers"
    ]
    assert list(servers) == ["south-imaging-primary"]


def test_json_writer_is_deterministic_and_parses() -> None:
    config = orthanc_config(blueprint(), base_url=EMULATOR, emulator=True)
    text = orthanc_json(config)
    assert text == orthanc_json(orthanc_config(blueprint(), base_url=EMULATOR, emulator=True))
    assert text.endswith("}\n")
    assert json.loads(text) == config


def test_notes_say_the_emulator_file_replaces_the_packaged_dicomweb_json() -> None:
    notes = " ".join(orthanc_setup_notes(emulator=True))
    assert "/etc/orthanc/dicomweb.json" in notes
    assert "replacing" in notes


def test_google_notes_name_the_given_key_file() -> None:
    notes = " ".join(orthanc_setup_notes(emulator=False, credentials_file=KEY_FILE))
    assert KEY_FILE in notes
    assert DEFAULT_SERVICE_ACCOUNT_FILE not in notes
    assert "HttpsCACertificates" in notes
