"""BigQuery v2 on the emulator through the discovery client: datasets and their access
entries, tables, rows; with BigQuery's errors."""

from __future__ import annotations

from typing import Any

import pytest
from googleapiclient.discovery import Resource
from googleapiclient.errors import HttpError

from provision.emulator.bigquery import models
from provision.emulator.server import RunningEmulator
from tests.emulator.clients import error_body
from tests.emulator.seeding import client, seed_project

PROJECT = "bq-test"


@pytest.fixture
def bq(emulator: RunningEmulator) -> Resource:
    seed_project(emulator.world, PROJECT, services=("healthcare.googleapis.com",))
    return client(emulator, "bigquery", "v2", "/bigquery/v2/")


def _refused(request: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(HttpError) as refused:
        request.execute()
    return refused.value.resp.status, error_body(refused.value)["error"]


def _insert(bq: Resource, dataset_id: str = "dicom_meta", **fields: Any) -> dict[str, Any]:
    body = {"datasetReference": {"datasetId": dataset_id}, **fields}
    created: dict[str, Any] = bq.datasets().insert(projectId=PROJECT, body=body).execute()
    return created


def test_a_dataset_gets_the_default_access_and_reads_back(bq: Resource) -> None:
    status, error = _refused(bq.datasets().get(projectId=PROJECT, datasetId="dicom_meta"))
    assert (status, error["message"]) == (404, f"Not found: Dataset {PROJECT}:dicom_meta")
    assert error["errors"][0]["reason"] == "notFound"
    created = _insert(bq, location="us", labels={"env": "prod"})
    assert created["kind"] == "bigquery#dataset"
    assert created["id"] == f"{PROJECT}:dicom_meta"
    assert created["location"] == "US"
    assert created["datasetReference"] == {"datasetId": "dicom_meta", "projectId": PROJECT}
    assert {"role": "OWNER", "userByEmail": "owner@example.com"} in created["access"]
    assert {"role": "READER", "specialGroup": "projectReaders"} in created["access"]
    got = bq.datasets().get(projectId=PROJECT, datasetId="dicom_meta").execute()
    assert got["maxTimeTravelHours"] == "168"
    assert got["access"] == created["access"]
    listed = bq.datasets().list(projectId=PROJECT).execute()
    assert [d["id"] for d in listed["datasets"]] == [f"{PROJECT}:dicom_meta"]
    status, error = _refused(bq.datasets().insert(projectId=PROJECT, body=_body("dicom_meta")))
    assert (status, error["message"]) == (409, f"Already Exists: Dataset {PROJECT}:dicom_meta")
    assert error["errors"][0]["reason"] == "duplicate"
    status, _ = _refused(bq.datasets().insert(projectId=PROJECT, body=_body("bad-id")))
    assert status == 400


def _body(dataset_id: str) -> dict[str, Any]:
    return {"datasetReference": {"datasetId": dataset_id}}


def test_a_predefined_role_in_access_reads_back_as_its_legacy_name(
    emulator: RunningEmulator, bq: Resource
) -> None:
    agent = f"service-{_number(emulator)}@gcp-sa-healthcare.iam.gserviceaccount.com"
    created = _insert(bq)
    access = [*created["access"], {"role": "roles/bigquery.dataEditor", "userByEmail": agent}]
    patched = (
        bq.datasets()
        .patch(projectId=PROJECT, datasetId="dicom_meta", body={"access": access})
        .execute()
    )
    assert {"role": "WRITER", "userByEmail": agent} in patched["access"]
    member = f"serviceAccount:{agent}"
    assert models.member_can_edit(emulator.world, PROJECT, "dicom_meta", member)
    ghost = [{"role": "WRITER", "userByEmail": "nobody@p.iam.gserviceaccount.com"}]
    status, _ = _refused(
        bq.datasets().patch(projectId=PROJECT, datasetId="dicom_meta", body={"access": ghost})
    )
    assert status == 400
    two = [{"role": "READER", "userByEmail": "a@example.com", "domain": "example.com"}]
    status, _ = _refused(
        bq.datasets().update(projectId=PROJECT, datasetId="dicom_meta", body={"access": two})
    )
    assert status == 400


def test_an_access_entry_takes_effect_after_the_iam_delay(
    emulator: RunningEmulator, bq: Resource
) -> None:
    emulator.world.configure({"iam_effect_delay_s": 3600})
    agent = f"service-{_number(emulator)}@gcp-sa-healthcare.iam.gserviceaccount.com"
    created = _insert(bq)
    access = [*created["access"], {"role": "WRITER", "userByEmail": agent}]
    bq.datasets().update(
        projectId=PROJECT, datasetId="dicom_meta", body={"access": access}
    ).execute()
    member = f"serviceAccount:{agent}"
    assert not models.member_can_edit(emulator.world, PROJECT, "dicom_meta", member)


def _number(emulator: RunningEmulator) -> str:
    project = emulator.world.find_project(PROJECT)
    assert project is not None
    return str(project["number"])


def test_tables_are_inserted_listed_and_block_a_plain_dataset_delete(bq: Resource) -> None:
    _insert(bq)
    body = {
        "tableReference": {"tableId": "instances"},
        "schema": {"fields": [{"name": "SOPInstanceUID", "type": "STRING"}]},
    }
    table = bq.tables().insert(projectId=PROJECT, datasetId="dicom_meta", body=body).execute()
    assert table["id"] == f"{PROJECT}:dicom_meta.instances"
    assert table["numRows"] == "0"
    got = bq.tables().get(projectId=PROJECT, datasetId="dicom_meta", tableId="instances").execute()
    assert got["schema"] == body["schema"]
    listed = bq.tables().list(projectId=PROJECT, datasetId="dicom_meta").execute()
    assert listed["totalItems"] == 1
    assert [t["id"] for t in listed["tables"]] == [table["id"]]
    rows = (
        bq.tabledata()
        .list(projectId=PROJECT, datasetId="dicom_meta", tableId="instances")
        .execute()
    )
    assert rows["totalRows"] == "0"
    assert "rows" not in rows
    status, error = _refused(bq.datasets().delete(projectId=PROJECT, datasetId="dicom_meta"))
    assert (status, error["errors"][0]["reason"]) == (400, "resourceInUse")
    bq.datasets().delete(projectId=PROJECT, datasetId="dicom_meta", deleteContents=True).execute()
    assert bq.datasets().list(projectId=PROJECT).execute().get("datasets") is None


def test_conditional_access_needs_policy_version_3_and_if_match_guards_writes(
    bq: Resource,
) -> None:
    created = _insert(bq)
    condition = {"title": "t", "expression": "request.time < timestamp('2030-01-01T00:00:00Z')"}
    entry = {"role": "READER", "groupByEmail": "a@example.com", "condition": condition}
    where = {"projectId": PROJECT, "datasetId": "dicom_meta"}
    body = {"access": [*created["access"], entry]}
    status, _ = _refused(bq.datasets().patch(**where, body=body))
    assert status == 400  # a conditional entry is written only with version 3
    status, _ = _refused(bq.datasets().get(**where, accessPolicyVersion=2))
    assert status == 400
    patched = bq.datasets().patch(**where, accessPolicyVersion=3, body=body).execute()
    assert entry in patched["access"]
    shown = bq.datasets().get(**where).execute()["access"]
    [mangled] = [e for e in shown if e.get("groupByEmail") == "a@example.com"]
    assert mangled["role"].startswith("READER_withcond_") and "condition" not in mangled
    got = bq.datasets().get(**where, accessPolicyVersion=3).execute()
    assert entry in got["access"]

    stale = bq.datasets().patch(**where, body={"description": "x"})
    stale.headers["If-Match"] = created["etag"]
    status, error = _refused(stale)
    assert (status, error["errors"][0]["reason"]) == (412, "conditionNotMet")
    fresh = bq.datasets().patch(**where, body={"description": "x"})
    fresh.headers["If-Match"] = got["etag"]
    assert fresh.execute()["description"] == "x"
