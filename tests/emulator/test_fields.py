"""Partial responses (`?fields=`): the syntax, and real clients' calls answered with just the
selected fields, in every API the emulator serves."""

from __future__ import annotations

import json
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud.storage import Client
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from provision.emulator.core.errors import ApiError
from provision.emulator.core.fields import apply, parse, select
from provision.emulator.core.routing import Reply
from provision.emulator.server import RunningEmulator
from tests.emulator.clients import discovery_client
from tests.emulator.seeding import healthcare_client, seed_project, storage_client

PROJECT = "fields-test"

OBJECT = {
    "kind": "storage#objects",
    "nextPageToken": "t",
    "items": [
        {"name": "a", "size": "1", "metadata": {"state": "held", "runId": "r"}, "owner": {}},
        {"name": "b", "size": "2"},
    ],
}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ("kind", {"kind": "storage#objects"}),
        ("kind,nextPageToken", {"kind": "storage#objects", "nextPageToken": "t"}),
        ("items(name,size)", {"items": [{"name": "a", "size": "1"}, {"name": "b", "size": "2"}]}),
        ("items/name", {"items": [{"name": "a"}, {"name": "b"}]}),
        ("items/metadata/state", {"items": [{"metadata": {"state": "held"}}]}),
        (
            "items(metadata(state,runId))",
            {"items": [{"metadata": {"state": "held", "runId": "r"}}]},
        ),
        (
            "items(name,metadata/state)",
            {"items": [{"name": "a", "metadata": {"state": "held"}}, {"name": "b"}]},
        ),
        ("items/*", {"items": OBJECT["items"]}),
        ("*", OBJECT),
        ("items,items/name", {"items": OBJECT["items"]}),
        (
            "items/name,items/size",
            {"items": [{"name": "a", "size": "1"}, {"name": "b", "size": "2"}]},
        ),
        ("missing", {}),
        ("kind/sub", {}),
    ],
)
def test_selection_syntax(fields: str, expected: dict[str, Any]) -> None:
    assert apply(OBJECT, parse(fields)) == expected


@pytest.mark.parametrize(
    "fields", ["items(", "items(name", "items)", "a,", ",a", "a//b", "()", "a()"]
)
def test_a_malformed_selection_is_a_400(fields: str) -> None:
    with pytest.raises(ApiError) as refused:
        parse(fields)
    assert refused.value.http == 400
    assert refused.value.message == f"Invalid field selection {fields}"


def test_only_json_objects_are_cut_down() -> None:
    assert select({"a": 1, "b": 2}, "a") == {"a": 1}
    assert select({"a": 1}, None) == {"a": 1}
    assert select(Reply(201, {"a": 1, "b": 2}), "b") == Reply(201, {"b": 2})
    assert select(Reply(200, b"media"), "a") == Reply(200, b"media")
    assert select([{"a": 1}], "b") == [{"a": 1}]  # DICOMweb's JSON arrays
    assert select(Reply(204), "a") == Reply(204)


@pytest.fixture
def gcs(emulator: RunningEmulator) -> Client:
    seed_project(emulator.world, PROJECT)
    client = Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": emulator.base_url},
    )
    bucket = client.bucket("fields-bucket")
    bucket.labels = {"managed-by": "provision"}
    bucket.create()
    bucket.blob("provision-locks/p.lease").upload_from_string(b"", content_type="text/plain")
    bucket.blob("dir/a.dcm").upload_from_string(b"abc")
    return client


def test_storage_reads_answer_only_the_selected_fields(
    emulator: RunningEmulator, gcs: Client
) -> None:
    storage = storage_client(emulator)
    assert storage.buckets().get(bucket="fields-bucket", fields="name,labels").execute() == {
        "name": "fields-bucket",
        "labels": {"managed-by": "provision"},
    }
    assert storage.objects().get(
        bucket="fields-bucket", object="dir/a.dcm", fields="name,size,generation"
    ).execute().keys() == {"name", "size", "generation"}
    listed = (
        storage.objects()
        .list(bucket="fields-bucket", maxResults=1, fields="items(name,size),nextPageToken")
        .execute()
    )
    assert listed["items"] == [{"name": "dir/a.dcm", "size": "3"}]
    assert set(listed) == {"items", "nextPageToken"}
    buckets = storage.buckets().list(project=PROJECT, fields="items/name").execute()
    assert buckets == {"items": [{"name": "fields-bucket"}]}
    # google-cloud-storage's existence checks ask for `fields=name`
    assert gcs.bucket("fields-bucket").exists()
    assert gcs.bucket("fields-bucket").blob("dir/a.dcm").exists()
    assert not gcs.bucket("fields-bucket").blob("dir/none.dcm").exists()
    names = [b.name for b in gcs.list_blobs("fields-bucket", fields="items(name),nextPageToken")]
    assert names == ["dir/a.dcm", "provision-locks/p.lease"]


def test_storage_batch_calls_honour_their_own_fields(
    emulator: RunningEmulator, gcs: Client
) -> None:
    storage = storage_client(emulator)
    answers: dict[str, Any] = {}
    batch = BatchHttpRequest(
        callback=lambda rid, body, _: answers.update({rid: body}),
        batch_uri=f"{emulator.base_url}/batch/storage/v1",
    )
    batch.add(storage.buckets().get(bucket="fields-bucket", fields="name"), request_id="1")
    batch.add(storage.buckets().getIamPolicy(bucket="fields-bucket", fields="etag"), request_id="2")
    batch.execute()
    assert answers == {"1": {"name": "fields-bucket"}, "2": {"etag": "CAE="}}


def test_a_malformed_selection_is_answered_400_in_each_dialect(
    emulator: RunningEmulator, gcs: Client
) -> None:
    storage = storage_client(emulator)
    with pytest.raises(HttpError) as refused:
        storage.buckets().get(bucket="fields-bucket", fields="items(name").execute()
    error = json.loads(refused.value.content)["error"]
    assert refused.value.resp.status == 400
    assert error["errors"][0]["reason"] == "invalidParameter"
    assert "status" not in error
    crm = discovery_client(emulator, "cloudresourcemanager", "v3")
    with pytest.raises(HttpError) as esf:
        crm.projects().get(name=f"projects/{PROJECT}", fields="labels(").execute()
    assert json.loads(esf.value.content)["error"]["status"] == "INVALID_ARGUMENT"


def test_esf_apis_answer_only_the_selected_fields(emulator: RunningEmulator) -> None:
    seed_project(emulator.world, PROJECT)
    crm = discovery_client(emulator, "cloudresourcemanager", "v3")
    project = crm.projects().get(name=f"projects/{PROJECT}", fields="projectId,state").execute()
    assert project == {"projectId": PROJECT, "state": "ACTIVE"}
    healthcare = healthcare_client(emulator).projects().locations().datasets()
    location = f"projects/{PROJECT}/locations/us-central1"
    operation = healthcare.create(parent=location, datasetId="ds", body={}, fields="name").execute()
    assert list(operation) == ["name"]
    for _ in range(10):
        if healthcare.operations().get(name=operation["name"], fields="done").execute():
            break
    dataset = healthcare.get(name=f"{location}/datasets/ds", fields="name").execute()
    assert dataset == {"name": f"{location}/datasets/ds"}
    usage = discovery_client(emulator, "serviceusage", "v1")
    services = (
        usage.services()
        .list(parent=f"projects/{PROJECT}", filter="state:ENABLED", fields="services/config/name")
        .execute()
    )
    assert {"config": {"name": "healthcare.googleapis.com"}} in services["services"]
    assert all(set(s) == {"config"} for s in services["services"])
