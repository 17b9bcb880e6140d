"""`dicomStores.deidentify` on the emulator: an operation that copies the source store's
instances into an existing destination store, removing tags by profile or list and giving them
new UIDs."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud.storage import Client
from googleapiclient.discovery import Resource
from googleapiclient.errors import HttpError

from provision.emulator import samples
from provision.emulator.server import RunningEmulator
from tests.emulator.clients import error_body
from tests.emulator.seeding import client, healthcare_client, seed_project, stow

PROJECT = "deid-test"
LOCATION = f"projects/{PROJECT}/locations/us-central1"
SOURCE = f"{LOCATION}/datasets/clinical/dicomStores/main"
TARGET = f"{LOCATION}/datasets/research/dicomStores/deid"
PATIENT_NAME, PATIENT_ID, BIRTH_DATE = "00100010", "00100020", "00100030"
STUDY_UID, SOP_UID, PIXEL_DATA, ROWS = "0020000D", "00080018", "7FE00010", "00280010"


@dataclass
class Setup:
    emulator: RunningEmulator
    hc: Resource
    originals: list[samples.Sample]
    agent: str


@pytest.fixture
def setup(emulator: RunningEmulator) -> Setup:
    number = seed_project(emulator.world, PROJECT)
    hc = healthcare_client(emulator)
    datasets = hc.projects().locations().datasets()
    for dataset, store in (("clinical", "main"), ("research", "deid")):
        datasets.create(parent=LOCATION, datasetId=dataset, body={}).execute()
        parent = f"{LOCATION}/datasets/{dataset}"
        datasets.dicomStores().create(parent=parent, dicomStoreId=store, body={}).execute()
    originals = samples.generate(4, seed=12, studies=2, series_per_study=1)
    stow(emulator, SOURCE, [s.data for s in originals])
    agent = f"serviceAccount:service-{number}@gcp-sa-healthcare.iam.gserviceaccount.com"
    return Setup(emulator, hc, originals, agent)


def _stores(setup: Setup) -> Any:
    return setup.hc.projects().locations().datasets().dicomStores()


def _deidentify(setup: Setup, body: dict[str, Any]) -> dict[str, Any]:
    started = _stores(setup).deidentify(sourceStore=SOURCE, body=body).execute()
    assert set(started) == {"name"}
    assert started["name"].startswith(f"{LOCATION}/datasets/clinical/operations/")
    operations = setup.hc.projects().locations().datasets().operations()
    finished: dict[str, Any] = operations.get(name=started["name"]).execute()
    assert finished["done"] is True
    return finished


def _copied(setup: Setup, store: str = TARGET) -> list[dict[str, Any]]:
    """Every instance of `store` with all its attributes (QIDO-RS, includefield=all)."""
    request = urllib.request.Request(
        f"{setup.emulator.base_url}/v1/{store}/dicomWeb/instances?includefield=all",
        headers={"Accept": "application/dicom+json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
    found: list[dict[str, Any]] = json.loads(body) if body else []
    return found


def _config(dicom: dict[str, Any]) -> dict[str, Any]:
    return {"destinationStore": TARGET, "config": {"dicom": dicom}}


def test_the_copy_is_an_operation_that_counts_instances(setup: Setup) -> None:
    finished = _deidentify(setup, {"destinationStore": TARGET, "config": {}})
    metadata = finished["metadata"]
    assert metadata["apiMethodName"].endswith("DeidentifyDicomStore")
    assert metadata["counter"] == {"success": "4"}
    assert finished["response"] == {
        "@type": "type.googleapis.com/google.cloud.healthcare.v1.deidentify."
        "DeidentifyDicomStoreSummary"
    }
    copied = _copied(setup)
    assert len(copied) == 4
    originals = {s.sop_uid for s in setup.originals}
    new_uids = {c[SOP_UID]["Value"][0] for c in copied}
    assert new_uids.isdisjoint(originals), "new SOP Instance UIDs"
    assert all(uid.startswith("2.25.") for uid in new_uids)
    assert len({c[STUDY_UID]["Value"][0] for c in copied}) == 2, "studies stay together"
    assert all(PATIENT_NAME in c for c in copied), "the default profile keeps every tag"


def test_a_remove_list_removes_those_tags(setup: Setup) -> None:
    _deidentify(setup, _config({"removeList": {"tags": ["PatientName", PATIENT_ID]}}))
    for copied in _copied(setup):
        assert PATIENT_NAME not in copied and PATIENT_ID not in copied
        assert BIRTH_DATE in copied


def test_a_keep_list_keeps_only_those_and_the_tags_an_instance_needs(setup: Setup) -> None:
    _deidentify(setup, _config({"keepList": {"tags": ["PatientSex"]}}))
    for copied in _copied(setup):
        assert "00100040" in copied, "PatientSex was kept"
        assert PATIENT_NAME not in copied and BIRTH_DATE not in copied
        assert ROWS in copied and SOP_UID in copied


def test_the_basic_profile_removes_identifying_attributes(setup: Setup) -> None:
    _deidentify(setup, _config({"filterProfile": "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE"}))
    for copied in _copied(setup):
        for tag in (PATIENT_NAME, PATIENT_ID, BIRTH_DATE, "00080050", "00080020", "00080090"):
            assert tag not in copied, tag
        assert ROWS in copied


def test_the_minimal_profile_keeps_only_what_an_instance_needs(setup: Setup) -> None:
    _deidentify(setup, _config({"filterProfile": "MINIMAL_KEEP_LIST_PROFILE"}))
    for copied in _copied(setup):
        assert PATIENT_NAME not in copied and "00081030" not in copied
        assert ROWS in copied


def test_tag_contents_lose_person_names_and_patient_ids(setup: Setup) -> None:
    _deidentify(setup, _config({"filterProfile": "DEIDENTIFY_TAG_CONTENTS"}))
    for copied in _copied(setup):
        for tag in (PATIENT_NAME, PATIENT_ID, "00080090"):
            assert "Value" not in copied.get(tag, {}), tag
        assert BIRTH_DATE in copied


def test_skipping_id_redaction_keeps_the_uids(setup: Setup) -> None:
    _deidentify(setup, _config({"skipIdRedaction": True, "removeList": {"tags": ["PatientID"]}}))
    assert {c[SOP_UID]["Value"][0] for c in _copied(setup)} == {s.sop_uid for s in setup.originals}


def _refused(setup: Setup, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    with pytest.raises(HttpError) as refused:
        _stores(setup).deidentify(sourceStore=SOURCE, body=body).execute()
    return refused.value.resp.status, error_body(refused.value)["error"]


def test_the_destination_must_exist_in_the_same_location(setup: Setup) -> None:
    status, _ = _refused(setup, {"destinationStore": f"{LOCATION}/datasets/research/dicomStores/x"})
    assert status == 404
    elsewhere = f"projects/{PROJECT}/locations/europe-west4/datasets/research/dicomStores/deid"
    status, error = _refused(setup, {"destinationStore": elsewhere})
    assert (status, error["status"]) == (400, "INVALID_ARGUMENT")
    status, _ = _refused(setup, {"config": {}})
    assert status == 400
    status, _ = _refused(setup, {"destinationStore": SOURCE})
    assert status == 400
    assert _copied(setup) == []


def test_bad_configs_are_refused_before_anything_is_copied(setup: Setup) -> None:
    both = {"keepList": {"tags": ["PatientSex"]}, "removeList": {"tags": ["PatientID"]}}
    assert _refused(setup, _config(both))[0] == 400
    assert _refused(setup, _config({"removeList": {"tags": ["NoSuchKeyword"]}}))[0] == 400
    status, error = _refused(setup, _config({"profile": "X"}))
    assert status == 400
    assert 'Unknown name "profile"' in error["message"]
    assert _copied(setup) == []


def test_cmek_encrypted_data_cannot_be_deidentified(setup: Setup) -> None:
    world = setup.emulator.world
    dataset = world.store.get("datasets", f"{LOCATION}/datasets/clinical")
    assert dataset is not None
    dataset["encryptionSpec"] = {"kmsKeyName": f"{LOCATION}/keyRings/r/cryptoKeys/k"}
    world.store.put("datasets", dataset["name"], dataset)
    status, error = _refused(setup, {"destinationStore": TARGET, "config": {}})
    assert (status, error["status"]) == (400, "FAILED_PRECONDITION")


def _bucket(setup: Setup, objects: dict[str, bytes]) -> None:
    gcs = Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": setup.emulator.base_url},
    )
    bucket = gcs.create_bucket("deid-test-config")
    for name, data in objects.items():
        bucket.blob(name).upload_from_string(data)
    policy = bucket.get_iam_policy()
    policy["roles/storage.objectViewer"] = {setup.agent}
    bucket.set_iam_policy(policy)


def test_the_config_and_a_filter_can_come_from_cloud_storage(setup: Setup) -> None:
    config = {"dicom": {"removeList": {"tags": ["PatientName"]}}}
    first_study = setup.originals[0].study_uid
    _bucket(
        setup,
        {
            "config.json": json.dumps(config).encode(),
            "paths.txt": f"/studies/{first_study}\n".encode(),
        },
    )
    body = {
        "destinationStore": TARGET,
        "gcsConfigUri": "gs://deid-test-config/config.json",
        "filterConfig": {"resourcePathsGcsUri": "gs://deid-test-config/paths.txt"},
    }
    finished = _deidentify(setup, body)
    assert finished["metadata"]["counter"] == {"success": "2"}
    copied = _copied(setup)
    assert len(copied) == 2
    assert all(PATIENT_NAME not in c for c in copied)


def test_a_config_the_agent_cannot_read_fails_the_operation(setup: Setup) -> None:
    gcs = client(setup.emulator, "storage", "v1", "/storage/v1/")
    gcs.buckets().insert(project=PROJECT, body={"name": "deid-test-private"}).execute()
    body = {"destinationStore": TARGET, "gcsConfigUri": "gs://deid-test-private/config.json"}
    finished = _deidentify(setup, body)
    assert finished["error"]["code"] == 7
    assert _copied(setup) == []


def test_every_listed_attribute_is_a_dicom_keyword() -> None:
    from pydicom.datadict import tag_for_keyword

    from provision.emulator.healthcare import deidentify

    lists = deidentify.BASIC_PROFILE | deidentify.REQUIRED | deidentify.IDENTIFIERS
    assert [name for name in sorted(lists) if tag_for_keyword(name) is None] == []
