from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from provision.errors import ViewerConfigError
from provision.outputs.ohif import PREFIX, ohif_config, ohif_config_object
from tests.unit.outputs.blueprints import CLIENT_ID, blueprint, site_dataset, with_client

GOOGLE_OPTIONS = {
    "qidoSupportsIncludeField": True,
    "imageRendering": "wadors",
    "thumbnailRendering": "wadors",
    "enableStudyLazyLoad": True,
    "supportsFuzzyMatching": True,
    "supportsWildcard": False,
    "dicomUploadEnabled": True,
    "omitQuotationForMultipartRequest": True,
}
STORE_URL = (
    "https://healthcare.googleapis.com/v1/projects/demo-imaging/locations/europe-west2"
    "/datasets/research/dicomStores/{}/dicomWeb"
)


def parse(text: str) -> dict[str, Any]:
    """The object assigned to window.config, read as strict JSON."""
    body = text[text.index(PREFIX) + len(PREFIX) :]
    assert body.endswith(";\n")
    parsed: dict[str, Any] = json.loads(body[: -len(";\n")])
    return parsed


def dicomweb_sources(config: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in config["dataSources"] if s["namespace"].endswith(".dicomweb")]


def test_one_google_data_source_per_store() -> None:
    config = parse(ohif_config(with_client()))
    sources = dicomweb_sources(config)
    assert [s["sourceName"] for s in sources] == ["research-ct", "research-mr"]
    for source, store in zip(sources, ["ct", "mr"], strict=True):
        assert source["namespace"] == "@ohif/extension-default.dataSourcesModule.dicomweb"
        configuration = source["configuration"]
        url = STORE_URL.format(store)
        assert configuration["qidoRoot"] == url
        assert configuration["wadoRoot"] == url
        assert configuration["wadoUriRoot"] == url
        assert configuration["friendlyName"] == f"research / {store} (europe-west2)"
        for key, value in GOOGLE_OPTIONS.items():
            assert configuration[key] == value, key
        assert configuration["configurationAPI"] == "ohif.dataSourceConfigurationAPI.google"
    assert config["defaultDataSourceName"] == "research-ct"


def test_local_data_sources_follow_the_stores() -> None:
    config = parse(ohif_config(with_client()))
    names = [s["sourceName"] for s in config["dataSources"]]
    assert names == ["research-ct", "research-mr", "dicomjson", "dicomlocal"]
    assert len(set(names)) == len(names)


def test_oidc_signs_in_with_the_blueprint_client() -> None:
    config = parse(ohif_config(with_client()))
    assert config["oidc"] == [
        {
            "authority": "https://accounts.google.com",
            "client_id": CLIENT_ID,
            "redirect_uri": "/callback",
            "response_type": "id_token token",
            "scope": "email profile openid "
            "https://www.googleapis.com/auth/cloudplatformprojects.readonly "
            "https://www.googleapis.com/auth/cloud-healthcare",
            "post_logout_redirect_uri": "/logout-redirect.html",
            "revoke_uri": "https://accounts.google.com/o/oauth2/revoke?token=",
            "automaticSilentRenew": True,
            "revokeAccessTokenOnSignout": True,
        }
    ]


def test_top_level_settings_match_ohifs_google_config() -> None:
    config = parse(ohif_config(with_client()))
    assert config["routerBasename"] == "/"
    assert config["enableGoogleCloudAdapter"] is False
    assert config["showStudyList"] is True
    assert config["extensions"] == []
    assert config["modes"] == []
    assert config["customizationService"] == {
        "dicomUploadComponent": (
            "@ohif/extension-cornerstone.customizationModule.cornerstoneDicomUploadComponent"
        )
    }


@pytest.mark.parametrize("oauth", [None, {"origins": ["http://localhost:3000"]}])
def test_google_config_needs_the_client_id(oauth: dict[str, Any] | None) -> None:
    with pytest.raises(ViewerConfigError) as caught:
        ohif_config(blueprint(oauth=oauth))
    assert "`oauth.clientId`" in str(caught.value)
    assert "--emulator-url" in str(caught.value)


def test_emulator_config_is_offline() -> None:
    text = ohif_config(blueprint(), base_url="http://127.0.0.1:8765/", emulator=True)
    config = parse(text)
    assert "oidc" not in config
    assert "googleapis.com" not in text
    assert "accounts.google" not in text
    source = dicomweb_sources(config)[0]["configuration"]
    url = (
        "http://127.0.0.1:8765/v1/projects/demo-imaging/locations/europe-west2"
        "/datasets/research/dicomStores/ct/dicomWeb"
    )
    assert source["qidoRoot"] == source["wadoRoot"] == source["wadoUriRoot"] == url
    assert "configurationAPI" not in source
    for key, value in GOOGLE_OPTIONS.items():
        assert source[key] == value, key


def test_emulator_config_ignores_the_client_id() -> None:
    config = ohif_config_object(with_client(), base_url="http://127.0.0.1:1", emulator=True)
    assert "oidc" not in config
    assert CLIENT_ID not in json.dumps(config)


def test_emulator_needs_its_url() -> None:
    with pytest.raises(ViewerConfigError, match="emulator's URL"):
        ohif_config(blueprint(), emulator=True)


def test_site_restricts_the_data_sources() -> None:
    bp = blueprint(
        [site_dataset("north"), site_dataset("south", "us-east4")],
        oauth={"clientId": CLIENT_ID},
    )
    config = parse(ohif_config(bp, site="south"))
    sources = dicomweb_sources(config)
    assert [s["sourceName"] for s in sources] == ["south-imaging-primary"]
    assert "/locations/us-east4/datasets/south-imaging/" in sources[0]["configuration"]["qidoRoot"]
    assert config["defaultDataSourceName"] == "south-imaging-primary"


def test_output_is_deterministic_and_a_javascript_assignment() -> None:
    first = ohif_config(with_client())
    assert first == ohif_config(with_client())
    lines = first.splitlines()
    assert all(line.startswith("//") for line in lines[:2])
    assert lines[2] == "window.config = {"
    assert first.endswith("};\n")


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not on PATH")
@pytest.mark.parametrize("emulator", [False, True])
def test_node_accepts_the_file(tmp_path: Path, emulator: bool) -> None:
    if emulator:
        text = ohif_config(blueprint(), base_url="http://127.0.0.1:8765", emulator=True)
    else:
        text = ohif_config(with_client())
    path = tmp_path / "app-config.js"
    path.write_text(text)
    subprocess.run(["node", "--check", str(path)], check=True, capture_output=True)
    # Evaluate it as a browser would and read window.config back.
    script = f"var window = {{}};\n{text}\nprocess.stdout.write(JSON.stringify(window.config));"
    result = subprocess.run(["node", "-e", script], check=True, capture_output=True, text=True)
    assert json.loads(result.stdout) == parse(text)
