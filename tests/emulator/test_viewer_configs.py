"""Generated viewer configs against the running emulator: the URLs they hold really serve
DICOMweb the way OHIF and Orthanc call it."""

from __future__ import annotations

import copy
import json
import re
import urllib.request
from io import BytesIO
from typing import Any

import pydicom
from dicomweb_client.api import DICOMwebClient
from pydicom import examples
from pydicom.uid import generate_uid

from provision.blueprint.schema import Blueprint
from provision.emulator.core.world import PROJECTS, SERVICES
from provision.emulator.server import RunningEmulator
from provision.outputs.ohif import PREFIX, ohif_config
from provision.outputs.orthanc import orthanc_config

PROJECT = "viewer-test"
NUMBER = "210987654321"
BLUEPRINT = Blueprint.model_validate(
    {
        "project": {"id": PROJECT},
        "datasets": [
            {"id": "imaging", "location": "us-central1", "dicomStores": [{"id": "ct"}]},
        ],
    }
)
STORE = f"projects/{PROJECT}/locations/us-central1/datasets/imaging/dicomStores/ct"


def seed(emulator: RunningEmulator) -> None:
    """The project, the Healthcare API and the store, as `provision apply` would leave them."""
    store = emulator.world.store
    project = {"projectId": PROJECT, "number": NUMBER, "name": f"projects/{NUMBER}"}
    store.put(PROJECTS, PROJECT, {**project, "state": "ACTIVE"})
    store.put(SERVICES, f"{NUMBER}/healthcare.googleapis.com", {"state": "ENABLED", "enabledAt": 0})
    store.put("dicom_stores", STORE, {"name": STORE})


def upload_study(url: str) -> str:
    dataset = copy.deepcopy(examples.ct)
    dataset.StudyInstanceUID = generate_uid()
    dataset.SeriesInstanceUID = generate_uid()
    dataset.SOPInstanceUID = generate_uid()
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    buffer = BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    DICOMwebClient(url=url).store_instances([pydicom.dcmread(BytesIO(buffer.getvalue()))])
    return str(dataset.StudyInstanceUID)


def get_json(url: str, origin: str | None = None) -> tuple[Any, dict[str, str]]:
    headers = {"Accept": "application/dicom+json"}
    if origin:
        headers["Origin"] = origin
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as response:
        return json.loads(response.read()), dict(response.headers)


def test_ohif_data_source_urls_serve_dicomweb(emulator: RunningEmulator) -> None:
    seed(emulator)
    text = ohif_config(BLUEPRINT, base_url=emulator.base_url, emulator=True)
    config = json.loads(text.split(PREFIX, 1)[1].removesuffix(";\n"))
    source = config["dataSources"][0]["configuration"]
    study = upload_study(source["wadoRoot"])  # OHIF's upload goes to wadoRoot (no stowRoot)

    # A study-list query shaped like OHIF's (paging, fuzzy matching, include fields).
    query = "limit=101&offset=0&fuzzymatching=true&includefield=00081030%2C00080060"
    studies, headers = get_json(f"{source['qidoRoot']}/studies?{query}", "http://localhost:3000")
    assert [s["0020000D"]["Value"][0] for s in studies] == [study]
    assert headers["Access-Control-Allow-Origin"] == "http://localhost:3000"

    metadata, _ = get_json(f"{source['wadoRoot']}/studies/{study}/metadata")
    assert metadata[0]["0020000D"]["Value"] == [study]


def test_orthanc_server_urls_serve_dicomweb(emulator: RunningEmulator) -> None:
    seed(emulator)
    servers = orthanc_config(BLUEPRINT, base_url=emulator.base_url, emulator=True)["DicomWeb"][
        "Servers"
    ]
    url = servers["imaging-ct"]["Url"]
    study = upload_study(url.rstrip("/"))
    # Orthanc's DICOMweb client requests Url + "/" + uri with repeated slashes collapsed.
    joined = re.sub(r"(?<!:)/{2,}", "/", f"{url}/studies")
    studies, _ = get_json(joined)
    assert [s["0020000D"]["Value"][0] for s in studies] == [study]
