"""A DICOM store streaming to BigQuery: the store is refused with Google's 403 "failed to verify
dataset" until the Healthcare service agent holds bigquery.dataEditor on the dataset; then each
stored instance becomes one row of the destination table."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from googleapiclient.discovery import Resource
from googleapiclient.errors import HttpError

from provision.emulator import samples
from provision.emulator.server import RunningEmulator
from tests.emulator.clients import control, error_body
from tests.emulator.seeding import client, healthcare_client, seed_project, stow

PROJECT = "stream-test"
DATASET = f"projects/{PROJECT}/locations/us-central1/datasets/ds"
STORE = f"{DATASET}/dicomStores/main"
TABLE_URI = f"bq://{PROJECT}.dicom_meta.instances"
REFUSAL = (
    f"failed to verify dataset (projectID:{PROJECT}, datasetID:dicom_meta), please add the "
    "required bigquery.dataEditor role to your project's service account"
)


@dataclass
class Setup:
    emulator: RunningEmulator
    hc: Resource
    bq: Resource
    agent: str


@pytest.fixture
def setup(emulator: RunningEmulator) -> Setup:
    number = seed_project(emulator.world, PROJECT)
    hc = healthcare_client(emulator)
    hc.projects().locations().datasets().create(
        parent=f"projects/{PROJECT}/locations/us-central1", datasetId="ds", body={}
    ).execute()
    bq = client(emulator, "bigquery", "v2", "/bigquery/v2/")
    body = {"datasetReference": {"datasetId": "dicom_meta"}}
    bq.datasets().insert(projectId=PROJECT, body=body).execute()
    agent = f"service-{number}@gcp-sa-healthcare.iam.gserviceaccount.com"
    return Setup(emulator, hc, bq, agent)


def _stores(setup: Setup) -> Any:
    return setup.hc.projects().locations().datasets().dicomStores()


def _streaming(**destination: Any) -> dict[str, Any]:
    return {"streamConfigs": [{"bigqueryDestination": {"tableUri": TABLE_URI, **destination}}]}


def _create_store(setup: Setup, body: dict[str, Any]) -> dict[str, Any]:
    created: dict[str, Any] = (
        _stores(setup).create(parent=DATASET, dicomStoreId="main", body=body).execute()
    )
    return created


def _set_access(setup: Setup, extra: list[dict[str, str]]) -> None:
    dataset = setup.bq.datasets().get(projectId=PROJECT, datasetId="dicom_meta").execute()
    access = [e for e in dataset["access"] if e.get("userByEmail") != setup.agent] + extra
    setup.bq.datasets().patch(
        projectId=PROJECT, datasetId="dicom_meta", body={"access": access}
    ).execute()


def _grant(setup: Setup) -> None:
    _set_access(setup, [{"role": "roles/bigquery.dataEditor", "userByEmail": setup.agent}])


def _rows(setup: Setup) -> dict[str, Any]:
    data: dict[str, Any] = (
        setup.bq.tabledata()
        .list(projectId=PROJECT, datasetId="dicom_meta", tableId="instances")
        .execute()
    )
    return data


def _columns(setup: Setup) -> list[str]:
    table = (
        setup.bq.tables()
        .get(projectId=PROJECT, datasetId="dicom_meta", tableId="instances")
        .execute()
    )
    return [field["name"] for field in table["schema"]["fields"]]


def test_without_the_agents_role_the_store_is_refused(setup: Setup) -> None:
    with pytest.raises(HttpError) as refused:
        _create_store(setup, _streaming())
    error = error_body(refused.value)["error"]
    assert (refused.value.resp.status, error["status"]) == (403, "PERMISSION_DENIED")
    assert error["message"] == REFUSAL
    listed = _stores(setup).list(parent=DATASET).execute()
    assert listed == {}, "nothing was created"


def test_a_dataset_that_does_not_exist_fails_the_same_verification(setup: Setup) -> None:
    uri = f"bq://{PROJECT}.elsewhere.instances"
    body = {"streamConfigs": [{"bigqueryDestination": {"tableUri": uri}}]}
    with pytest.raises(HttpError) as refused:
        _create_store(setup, body)
    assert refused.value.resp.status == 403
    assert "datasetID:elsewhere" in error_body(refused.value)["error"]["message"]


def test_with_the_role_each_stored_instance_becomes_a_row(setup: Setup) -> None:
    _grant(setup)
    created = _create_store(setup, _streaming(writeDisposition="WRITE_APPEND"))
    assert created["streamConfigs"][0]["bigqueryDestination"]["writeDisposition"] == "WRITE_APPEND"
    with pytest.raises(HttpError) as missing:
        _rows(setup)
    assert missing.value.resp.status == 404, "the table is made when the first row comes"
    instances = samples.generate(2, seed=6)
    stow(setup.emulator, STORE, [s.data for s in instances])
    rows = _rows(setup)
    assert rows["totalRows"] == "2"
    columns = _columns(setup)
    sop = columns.index("SOPInstanceUID")
    assert [row["f"][sop]["v"] for row in rows["rows"]] == [s.sop_uid for s in instances]
    assert "PatientName" in columns, "one column per top-level tag"
    assert "SourceDicomStore" not in columns


def test_a_json_schema_keeps_the_metadata_in_one_column(setup: Setup) -> None:
    _grant(setup)
    _create_store(setup, _streaming(schemaJson={}, includeSourceStore=True))
    [sample] = samples.generate(1, seed=7)
    stow(setup.emulator, STORE, [sample.data])
    columns = _columns(setup)
    [row] = _rows(setup)["rows"]
    cells = {name: cell["v"] for name, cell in zip(columns, row["f"], strict=True)}
    assert cells["SourceDicomStore"] == STORE
    assert json.loads(cells["Metadata"])["00080018"]["Value"] == [sample.sop_uid]
    assert "PatientName" not in columns


def test_a_project_role_is_enough(setup: Setup) -> None:
    crm = client(setup.emulator, "cloudresourcemanager", "v3")
    projects = crm.projects()
    policy = projects.getIamPolicy(resource=f"projects/{PROJECT}", body={}).execute()
    member = f"serviceAccount:{setup.agent}"
    policy["bindings"].append({"role": "roles/bigquery.dataEditor", "members": [member]})
    projects.setIamPolicy(resource=f"projects/{PROJECT}", body={"policy": policy}).execute()
    assert "streamConfigs" in _create_store(setup, _streaming())


def test_patching_the_stream_is_verified_and_a_lost_role_is_logged(setup: Setup) -> None:
    _create_store(setup, {})
    with pytest.raises(HttpError) as refused:
        _stores(setup).patch(name=STORE, updateMask="streamConfigs", body=_streaming()).execute()
    assert refused.value.resp.status == 403
    _stores(setup).patch(name=STORE, updateMask="labels", body={"labels": {"a": "b"}}).execute()
    _grant(setup)
    _stores(setup).patch(name=STORE, updateMask="streamConfigs", body=_streaming()).execute()
    _set_access(setup, [])
    stow(setup.emulator, STORE, [samples.generate(1, seed=8)[0].data])
    [entry] = control(setup.emulator, "logs")
    assert entry["table"] == TABLE_URI
    assert "bigquery.dataEditor" in entry["message"]


def test_a_malformed_table_uri_is_refused(setup: Setup) -> None:
    body = {"streamConfigs": [{"bigqueryDestination": {"tableUri": "bq://just-a-project"}}]}
    with pytest.raises(HttpError) as refused:
        _create_store(setup, body)
    assert refused.value.resp.status == 400
