"""DICOMweb on the emulator, driven by the `dicomweb-client` package and plain HTTP."""

from __future__ import annotations

import copy
import json
import urllib.error
import urllib.request
from io import BytesIO

import pydicom
import pytest
from dicomweb_client.api import DICOMwebClient
from pydicom import examples
from pydicom.uid import generate_uid

from provision.emulator.core.world import PROJECTS, SERVICES
from provision.emulator.server import RunningEmulator

STORE = "projects/dw-test/locations/us-central1/datasets/ds/dicomStores/main"


def _seed_store(emulator: RunningEmulator) -> str:
    """A project with the Healthcare API enabled and one DICOM store, as the admin API makes."""
    store = emulator.world.store
    store.put(
        PROJECTS,
        "dw-test",
        {
            "projectId": "dw-test",
            "number": "123456789012",
            "name": "projects/123456789012",
            "state": "ACTIVE",
        },
    )
    store.put(
        SERVICES, "123456789012/healthcare.googleapis.com", {"state": "ENABLED", "enabledAt": 0}
    )
    store.put("dicom_stores", STORE, {"name": STORE})
    return f"{emulator.base_url}/v1/{STORE}/dicomWeb"


def _instance(study: str, series: str, patient: str = "Doe^Jane", modality: str = "CT") -> bytes:
    dataset = copy.deepcopy(examples.ct)
    dataset.StudyInstanceUID = study
    dataset.SeriesInstanceUID = series
    dataset.SOPInstanceUID = generate_uid()
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    dataset.PatientName = patient
    dataset.Modality = modality
    buffer = BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


@pytest.fixture
def dicomweb_url(emulator: RunningEmulator) -> str:
    return _seed_store(emulator)


def test_store_search_and_retrieve_with_dicomweb_client(dicomweb_url: str) -> None:
    client = DICOMwebClient(url=dicomweb_url)
    study, series = generate_uid(), generate_uid()
    datasets = [pydicom.dcmread(BytesIO(_instance(study, series))) for _ in range(3)]
    client.store_instances(datasets)

    studies = client.search_for_studies()
    assert len(studies) == 1
    found = pydicom.Dataset.from_json(studies[0])
    assert found.StudyInstanceUID == study
    assert found.NumberOfStudyRelatedInstances == 3
    assert found.ModalitiesInStudy == "CT"

    assert len(client.search_for_series(study_instance_uid=study)) == 1
    assert len(client.search_for_instances(study_instance_uid=study)) == 3
    assert client.search_for_studies(search_filters={"PatientName": "Nobody"}) == []

    retrieved = client.retrieve_study(study)
    assert sorted(d.SOPInstanceUID for d in retrieved) == sorted(d.SOPInstanceUID for d in datasets)
    instance = client.retrieve_instance(study, series, datasets[0].SOPInstanceUID)
    assert instance.PixelData == datasets[0].PixelData
    metadata = client.retrieve_study_metadata(study)
    assert len(metadata) == 3
    assert "BulkDataURI" in metadata[0]["7FE00010"]
    frames = client.retrieve_instance_frames(study, series, datasets[0].SOPInstanceUID, [1])
    assert frames[0] == datasets[0].PixelData


def test_qido_matching_paging_and_includefield(dicomweb_url: str) -> None:
    client = DICOMwebClient(url=dicomweb_url)
    uids = [generate_uid() for _ in range(3)]
    for index, study in enumerate(uids):
        client.store_instances(
            [pydicom.dcmread(BytesIO(_instance(study, generate_uid(), f"Patient^{index}")))]
        )
    assert len(client.search_for_studies(limit=2)) == 2
    assert len(client.search_for_studies(offset=2)) == 1
    fuzzy = client.search_for_studies(search_filters={"PatientName": "patient"}, fuzzymatching=True)
    assert len(fuzzy) == 3
    exact = client.search_for_studies(search_filters={"StudyInstanceUID": uids[1]})
    assert [pydicom.Dataset.from_json(s).StudyInstanceUID for s in exact] == [uids[1]]
    with_all = client.search_for_studies(fields=["all"], limit=1)
    assert "00280010" in with_all[0]  # Rows, only with includefield=all


def test_stow_single_part_defaults_to_xml_and_duplicates_conflict(dicomweb_url: str) -> None:
    data = _instance(generate_uid(), generate_uid())
    request = urllib.request.Request(
        f"{dicomweb_url}/studies",
        data=data,
        method="POST",
        headers={"Content-Type": "application/dicom"},
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("application/dicom+xml")
        assert b"<NativeDicomModel>" in response.read()
    request.add_header("Accept", "application/dicom+json")
    with pytest.raises(urllib.error.HTTPError) as conflict:
        urllib.request.urlopen(request)
    assert conflict.value.code == 409
    body = json.loads(conflict.value.read())
    assert body["00081198"]["Value"][0]["00081197"]["Value"] == [272]


def test_empty_search_is_204_and_retrieve_returns_original_bytes(dicomweb_url: str) -> None:
    with urllib.request.urlopen(f"{dicomweb_url}/studies") as response:
        assert response.status == 204
    study, series = generate_uid(), generate_uid()
    data = _instance(study, series)
    sop = pydicom.dcmread(BytesIO(data)).SOPInstanceUID
    DICOMwebClient(url=dicomweb_url).store_instances([pydicom.dcmread(BytesIO(data))])
    request = urllib.request.Request(
        f"{dicomweb_url}/studies/{study}/series/{series}/instances/{sop}",
        headers={"Accept": "application/dicom; transfer-syntax=*"},
    )
    with urllib.request.urlopen(request) as response:
        assert pydicom.dcmread(BytesIO(response.read())).SOPInstanceUID == sop


def test_unknown_store_and_cors(emulator: RunningEmulator) -> None:
    _seed_store(emulator)
    url = f"{emulator.base_url}/v1/{STORE.replace('main', 'other')}/dicomWeb/studies"
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(url)
    assert missing.value.code == 404
    preflight = urllib.request.Request(
        url, method="OPTIONS", headers={"Origin": "http://localhost:3000"}
    )
    with urllib.request.urlopen(preflight) as response:
        assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"


def test_includefield_adds_only_attributes_of_the_searched_level_and_above(
    emulator: RunningEmulator, dicomweb_url: str
) -> None:
    """OHIF's study list asks for Modality (0008,0060) with `includefield`: at the study level
    that is a series attribute, which PS3.18 10.6.3.3 says is not returned; the study's
    modalities are ModalitiesInStudy (0008,0061)."""
    client = DICOMwebClient(url=dicomweb_url)
    study = generate_uid()
    client.store_instances(
        [
            pydicom.dcmread(BytesIO(_instance(study, generate_uid(), modality=modality)))
            for modality in ("MR", "CT")
        ]
    )
    (found,) = client.search_for_studies(fields=["00081030", "00080060", "InstanceNumber"])
    assert "00080060" not in found and "00200013" not in found
    assert found["00080061"]["Value"] == ["CT", "MR"]
    assert "00081030" in found  # StudyDescription is a study attribute
    series = client.search_for_series(study, fields=["Modality", "InstanceNumber"])
    assert all("00080060" in s and "00200013" not in s for s in series)
    instances = client.search_for_instances(study, fields=["InstanceNumber"])
    assert all("00200013" in i for i in instances)

    emulator.world.settings = emulator.world.settings.updated({"qido_includefield_levels": False})
    (anything,) = client.search_for_studies(fields=["00080060"])
    assert "00080060" in anything


def test_frame_parts_carry_the_standards_headers_when_set(
    emulator: RunningEmulator, dicomweb_url: str
) -> None:
    study, series = generate_uid(), generate_uid()
    data = _instance(study, series)
    sop = pydicom.dcmread(BytesIO(data)).SOPInstanceUID
    client = DICOMwebClient(url=dicomweb_url)
    client.store_instances([pydicom.dcmread(BytesIO(data))])
    frame_url = f"{dicomweb_url}/studies/{study}/series/{series}/instances/{sop}/frames/1"

    def part_headers() -> str:
        request = urllib.request.Request(frame_url, headers={"Accept": "multipart/related"})
        with urllib.request.urlopen(request) as response:
            body: bytes = response.read()
        return body.split(b"\r\n\r\n", 1)[0].decode()

    assert part_headers().splitlines()[1:] == ["Content-Type: application/octet-stream"]
    emulator.world.settings = emulator.world.settings.updated({"frame_part_headers": "standard"})
    assert part_headers().splitlines()[1:] == [
        "Content-Type: application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1",
        f"Content-Location: {frame_url}",
    ]
    frames = client.retrieve_instance_frames(study, series, sop, [1])
    assert frames[0] == pydicom.dcmread(BytesIO(data)).PixelData
