"""The viewer configs `provision onboard` writes for one site (Google and emulator forms)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from provision.blueprint.loader import load
from provision.workflows.viewer_configs import OHIF_FILE, ORTHANC_FILE, write_viewer_configs

REPO = Path(__file__).resolve().parents[3]
STORE = (
    "projects/imaging-dev-4821/locations/europe-west4/datasets/north-imaging"
    "/dicomStores/north-dicom"
)


@pytest.fixture
def dev(tmp_path: Path) -> Path:
    target = tmp_path / "blueprints"
    shutil.copytree(REPO / "blueprints", target)
    (target / "sites" / "north.yaml").write_text(
        "name: north\nlocation: europe-west4\n", encoding="utf-8"
    )
    return target / "dev.yaml"


def ohif_object(path: Path) -> dict[str, object]:
    text = path.read_text(encoding="utf-8")
    parsed: dict[str, object] = json.loads(text.split("window.config = ", 1)[1].rstrip()[:-1])
    return parsed


def test_google_configs_cover_only_the_site_and_sign_in_with_the_client(
    dev: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out" / "north"
    lines = write_viewer_configs(load(dev), "north", out, None)
    assert [line.split(" (")[0] for line in lines] == [
        f"wrote {out / OHIF_FILE}",
        f"wrote {out / ORTHANC_FILE}",
    ]
    config = ohif_object(out / OHIF_FILE)
    oidc = config["oidc"]
    assert isinstance(oidc, list)
    assert oidc[0]["client_id"] == "1234567890-abc.apps.googleusercontent.com"
    url = f"https://healthcare.googleapis.com/v1/{STORE}/dicomWeb"
    sources = config["dataSources"]
    assert isinstance(sources, list)
    roots = [s["configuration"]["wadoRoot"] for s in sources if "dicomweb" in s["namespace"]]
    assert roots == [url]
    orthanc = json.loads((out / ORTHANC_FILE).read_text(encoding="utf-8"))
    accounts = orthanc["GoogleCloudPlatform"]["Accounts"]
    assert list(accounts.values()) == [
        {
            "Project": "imaging-dev-4821",
            "Location": "europe-west4",
            "Dataset": "north-imaging",
            "DicomStore": "north-dicom",
            "ServiceAccountFile": accounts["north-imaging-north-dicom"]["ServiceAccountFile"],
        }
    ]


def test_emulator_configs_point_at_the_emulator_and_rewrite_identically(
    dev: Path, tmp_path: Path
) -> None:
    out = tmp_path / "cfg"
    base = "http://127.0.0.1:9999"
    write_viewer_configs(load(dev), "north", out, base)
    first = {name: (out / name).read_bytes() for name in (OHIF_FILE, ORTHANC_FILE)}
    config = ohif_object(out / OHIF_FILE)
    assert "oidc" not in config
    orthanc = json.loads(first[ORTHANC_FILE])
    assert [s["Url"] for s in orthanc["DicomWeb"]["Servers"].values()] == [
        f"{base}/v1/{STORE}/dicomWeb/"
    ]
    write_viewer_configs(load(dev), "north", out, base)
    assert {name: (out / name).read_bytes() for name in first} == first


def test_a_config_that_cannot_be_made_is_skipped_with_the_reason(dev: Path, tmp_path: Path) -> None:
    text = dev.read_text(encoding="utf-8").replace(
        "  clientId: 1234567890-abc.apps.googleusercontent.com\n", ""
    )
    dev.write_text(text, encoding="utf-8")
    lines = write_viewer_configs(load(dev), "north", tmp_path / "o", None)
    assert lines[0].startswith(f"{OHIF_FILE} not written: ")
    assert lines[1].startswith("wrote ")
    assert not (tmp_path / "o" / OHIF_FILE).exists()
