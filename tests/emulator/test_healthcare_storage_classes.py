"""Storage classes of DICOM instances: an import's blobStorageSettings, a store's
setBlobStorageSettings, and getStorageInfo reading them back."""

from __future__ import annotations

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
from tests.emulator.seeding import healthcare_client, seed_project, stow

PROJECT = "tier-test"
DATASET = f"projects/{PROJECT}/locations/us-central1/datasets/ds"
STORE = f"{DATASET}/dicomStores/main"


@dataclass
class Setup:
    emulator: RunningEmulator
    hc: Resource
    instances: list[samples.Sample]


@pytest.fixture
def setup(emulator: RunningEmulator) -> Setup:
    number = seed_project(emulator.world, PROJECT)
    hc = healthcare_client(emulator)
    datasets = hc.projects().locations().datasets()
    datasets.create(
        parent=f"projects/{PROJECT}/locations/us-central1", datasetId="ds", body={}
    ).execute()
    datasets.dicomStores().create(parent=DATASET, dicomStoreId="main", body={}).execute()
    gcs = Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": emulator.base_url},
    )
    bucket = gcs.create_bucket("tier-test-dicom")
    generated = samples.generate(3, seed=9)
    for sample in generated:
        bucket.blob(sample.path).upload_from_string(sample.data)
    policy = bucket.get_iam_policy()
    agent = f"serviceAccount:service-{number}@gcp-sa-healthcare.iam.gserviceaccount.com"
    policy["roles/storage.objectViewer"] = {agent}
    bucket.set_iam_policy(policy)
    return Setup(emulator, hc, generated)


def _stores(setup: Setup) -> Any:
    return setup.hc.projects().locations().datasets().dicomStores()


def _finished(setup: Setup, started: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = (
        setup.hc.projects().locations().datasets().operations().get(name=started["name"]).execute()
    )
    assert operation["done"] is True
    return operation


def _info(setup: Setup, sample: samples.Sample) -> dict[str, Any]:
    name = (
        f"{STORE}/dicomWeb/studies/{sample.study_uid}/series/{sample.series_uid}"
        f"/instances/{sample.sop_uid}"
    )
    instances = _stores(setup).dicomWeb().studies().series().instances()
    info: dict[str, Any] = instances.getStorageInfo(resource=name).execute()
    assert info["referencedResource"] == name
    return info


def _import(setup: Setup, storage_class: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"gcsSource": {"uri": "gs://tier-test-dicom/**"}}
    if storage_class:
        body["blobStorageSettings"] = {"blobStorageClass": storage_class}
    return _finished(setup, _stores(setup).import_(name=STORE, body=body).execute())


def test_an_import_stores_its_instances_in_the_class_it_names(setup: Setup) -> None:
    assert "response" in _import(setup, "NEARLINE")
    info = _info(setup, setup.instances[0])
    assert info["blobStorageInfo"]["storageClass"] == "NEARLINE"
    assert info["blobStorageInfo"]["sizeBytes"] == str(len(setup.instances[0].data))
    assert int(info["structuredStorageInfo"]["sizeBytes"]) > 0


def test_stow_and_an_unspecified_class_are_standard(setup: Setup) -> None:
    [extra] = samples.generate(1, seed=10)
    stow(setup.emulator, STORE, [extra.data])
    assert _info(setup, extra)["blobStorageInfo"]["storageClass"] == "STANDARD"
    _import(setup, None)
    assert _info(setup, setup.instances[1])["blobStorageInfo"]["storageClass"] == "STANDARD"


def test_a_store_moves_its_instances_to_another_class(setup: Setup) -> None:
    _import(setup, None)
    body = {"blobStorageSettings": {"blobStorageClass": "ARCHIVE"}}
    operation = _finished(
        setup, _stores(setup).setBlobStorageSettings(resource=STORE, body=body).execute()
    )
    assert operation["metadata"]["counter"] == {"success": "3"}
    assert operation["response"]["@type"].endswith("dicom.SetBlobStorageSettingsResponse")
    assert all(
        _info(setup, sample)["blobStorageInfo"]["storageClass"] == "ARCHIVE"
        for sample in setup.instances
    )
    with pytest.raises(HttpError) as refused:
        unspecified = {
            "blobStorageSettings": {"blobStorageClass": "BLOB_STORAGE_CLASS_UNSPECIFIED"}
        }
        _stores(setup).setBlobStorageSettings(resource=STORE, body=unspecified).execute()
    assert refused.value.resp.status == 400


def test_storage_info_of_an_unknown_instance_is_not_found(setup: Setup) -> None:
    [unknown] = samples.generate(1, seed=11)
    with pytest.raises(HttpError) as refused:
        _info(setup, unknown)
    name = (
        f"{STORE}/dicomWeb/studies/{unknown.study_uid}/series/{unknown.series_uid}"
        f"/instances/{unknown.sop_uid}"
    )
    assert refused.value.resp.status == 404
    assert error_body(refused.value)["error"]["message"] == f"Instance {name} not found."
