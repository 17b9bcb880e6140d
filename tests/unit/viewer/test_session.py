"""What `provision viewer` serves for a blueprint: offline against the emulator, signed in to
Google from `http://localhost:PORT` only when the OAuth client lists that origin."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from provision.blueprint.loader import LoadedBlueprint, load
from provision.errors import ViewerConfigError
from provision.outputs.ohif import PREFIX
from provision.viewer.session import banner, viewer_command, viewer_setup

REPO = Path(__file__).resolve().parents[3]
CLIENT_ID = "1234567890-abc.apps.googleusercontent.com"


def config_of(text: str) -> Any:
    return json.loads(text.split(PREFIX, 1)[1].rstrip().removesuffix(";"))


@pytest.fixture
def dev(tmp_path: Path) -> LoadedBlueprint:
    shutil.copytree(REPO / "blueprints", tmp_path / "blueprints")
    return load(tmp_path / "blueprints" / "dev.yaml")


def test_against_the_emulator_there_is_no_sign_in(dev: LoadedBlueprint) -> None:
    setup = viewer_setup(dev, site=None, port=0, data_url="http://127.0.0.1:8765")
    config = config_of(setup.config)
    assert "oidc" not in config
    roots = {s["configuration"].get("qidoRoot") for s in config["dataSources"]}
    assert (
        "http://127.0.0.1:8765/v1/projects/imaging-dev-4821/locations/us-central1/datasets/"
        "imaging-dev/dicomStores/dicom-main/dicomWeb"
    ) in roots
    assert setup.sources[0] == ("imaging-dev/dicom-main", "imaging-dev-dicom-main")
    lines = banner(setup, "http://localhost:4000", "@ohif/app@1.2.3")
    assert lines[0] == "OHIF Viewer (@ohif/app@1.2.3) at http://localhost:4000/ - Ctrl-C stops it"
    assert (
        "  general-imaging/general-dicom: http://localhost:4000/?datasources=general-imaging-general-dicom"
        in lines
    )
    assert lines[-1] == "Data from http://127.0.0.1:8765 (no sign-in)."


def test_against_google_ohif_signs_in_from_the_local_origin(dev: LoadedBlueprint) -> None:
    setup = viewer_setup(dev, site="general", port=3000, data_url=None)
    config = config_of(setup.config)
    (oidc,) = config["oidc"]
    assert oidc["client_id"] == CLIENT_ID
    assert oidc["redirect_uri"] == "http://localhost:3000/callback"
    assert [name for _, name in setup.sources] == ["general-imaging-general-dicom"]
    assert config["dataSources"][0]["configuration"]["qidoRoot"].startswith(
        "https://healthcare.googleapis.com/v1/projects/imaging-dev-4821/"
    )
    assert "sign in" in banner(setup, "http://localhost:3000", "x")[-1]


@pytest.mark.parametrize("port", [3001, 0])
def test_a_port_the_oauth_client_does_not_list_is_refused_naming_the_field(
    dev: LoadedBlueprint, port: int
) -> None:
    with pytest.raises(ViewerConfigError) as error:
        viewer_setup(dev, site=None, port=port, data_url=None)
    message = str(error.value)
    assert message.startswith(f"{dev.path}:")
    assert "oauth.origins" in message
    assert ("http://localhost:3001" if port else "fixed http://localhost:PORT") in message
    assert "\n" not in message


def test_without_a_client_id_google_sign_in_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bp.yaml"
    path.write_text(
        "version: 1\nproject: {id: demo-imaging}\nservices: [healthcare.googleapis.com]\n"
        "datasets:\n  - id: research\n    location: europe-west2\n    dicomStores: [{id: ct}]\n"
        "oauth:\n  origins: [http://localhost:3000]\n"
    )
    with pytest.raises(ViewerConfigError, match=r"oauth\.clientId"):
        viewer_setup(load(path), site=None, port=3000, data_url=None)


def test_the_command_that_opens_a_sites_studies() -> None:
    assert viewer_command(Path("my blueprints/dev.yaml"), "st-marys") == (
        "provision viewer 'my blueprints/dev.yaml' --site st-marys"
    )
    assert viewer_command(Path("dev.yaml"), None, endpoint="http://127.0.0.1:8765") == (
        "provision viewer dev.yaml --endpoint http://127.0.0.1:8765"
    )
    assert viewer_command(Path("dev.yaml"), "a", emulator=True, endpoint="x") == (
        "provision viewer dev.yaml --site a --emulator"
    )
