"""Cloud Healthcare v1 admin API on the emulator, driven by the discovery client over HTTP
(fidelity spec §A4, §B, §C, §F 6, 7, 8, 11)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from googleapiclient.discovery import Resource
from googleapiclient.errors import HttpError

from provision.emulator.healthcare.models import compile_label_filter, valid_id
from provision.emulator.server import RunningEmulator
from tests.emulator.seeding import healthcare_client, seed_project, serviceusage_client

PROJECT = "hc-test"
LOCATION = f"projects/{PROJECT}/locations/us-central1"
DATASET = f"{LOCATION}/datasets/ds"
STORE = f"{DATASET}/dicomStores/main"


def _error(raised: pytest.ExceptionInfo[HttpError]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(raised.value.content)["error"]
    return body


@pytest.fixture
def hc(emulator: RunningEmulator) -> Resource:
    seed_project(emulator.world, PROJECT)
    return healthcare_client(emulator)


def _datasets(hc: Resource) -> Any:
    return hc.projects().locations().datasets()


def _stores(hc: Resource) -> Any:
    return _datasets(hc).dicomStores()


def _create_dataset(hc: Resource, dataset_id: str = "ds") -> dict[str, Any]:
    operation: dict[str, Any] = (
        _datasets(hc).create(parent=LOCATION, datasetId=dataset_id, body={}).execute()
    )
    return operation


def _wait(hc: Resource, name: str) -> dict[str, Any]:
    for _ in range(10):
        operation: dict[str, Any] = _datasets(hc).operations().get(name=name).execute()
        if operation.get("done"):
            return operation
    raise AssertionError(f"operation {name} never finished")


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("ds", True),
        ("a.b-c_d", True),
        ("données", True),
        ("数据集", True),
        ("x" * 256, True),
        ("x" * 257, False),
        ("", False),
        ("a/b", False),
        ("a b", False),
        ("a:b", False),
    ],
)
def test_id_rule(value: str, valid: bool) -> None:
    assert valid_id(value) is valid


@pytest.mark.parametrize(
    ("text", "labels", "matches"),
    [
        ("labels.env=prod", {"env": "prod"}, True),
        ("labels.env=prod", {"env": "dev"}, False),
        ('labels."env"="prod"', {"env": "prod"}, True),
        ("labels.env:*", {"env": "x"}, True),
        ("labels.env=prod AND labels.team=a", {"env": "prod", "team": "b"}, False),
        ("labels.env=prod OR labels.team=a", {"env": "dev", "team": "a"}, True),
        ("NOT labels.env=prod", {"env": "dev"}, True),
    ],
)
def test_label_filter(text: str, labels: dict[str, str], matches: bool) -> None:
    assert compile_label_filter(text)(labels) is matches


def test_service_disabled_before_enabling(emulator: RunningEmulator) -> None:
    number = seed_project(emulator.world, PROJECT, services=())
    hc = healthcare_client(emulator)
    with pytest.raises(HttpError) as disabled:
        _datasets(hc).list(parent=LOCATION).execute()
    error = _error(disabled)
    assert disabled.value.resp.status == 403
    assert error["status"] == "PERMISSION_DENIED"
    assert error["message"].startswith(
        f"Cloud Healthcare API has not been used in project {number} before or it is disabled."
    )
    info = error["details"][0]
    assert info["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
    assert info["reason"] == "SERVICE_DISABLED"
    assert info["metadata"]["consumer"] == f"projects/{number}"
    assert info["metadata"]["service"] == "healthcare.googleapis.com"
    assert [d["@type"].rsplit(".", 1)[-1] for d in error["details"]] == [
        "ErrorInfo",
        "LocalizedMessage",
        "Help",
    ]
    serviceusage = serviceusage_client(emulator)
    name = f"projects/{PROJECT}/services/healthcare.googleapis.com"
    operation = serviceusage.services().enable(name=name, body={}).execute()
    while not operation.get("done"):
        operation = serviceusage.operations().get(name=operation["name"]).execute()
    assert _datasets(hc).list(parent=LOCATION).execute() == {}

    with pytest.raises(HttpError) as unknown:
        _datasets(hc).list(parent="projects/nobody-here/locations/us-central1").execute()
    assert unknown.value.resp.status == 403
    assert "(or it may not exist)" in _error(unknown)["message"]


def test_locations(hc: Resource) -> None:
    listed = hc.projects().locations().list(name=f"projects/{PROJECT}").execute()
    ids = [location["locationId"] for location in listed["locations"]]
    assert "us-central1" in ids and "europe-west4" in ids and "us" in ids
    got = hc.projects().locations().get(name=LOCATION).execute()
    assert got == {"name": LOCATION, "locationId": "us-central1"}
    with pytest.raises(HttpError) as bad:
        _datasets(hc).list(parent=f"projects/{PROJECT}/locations/mars-north1").execute()
    assert bad.value.resp.status == 400


def test_dataset_create_is_a_long_running_operation(hc: Resource) -> None:
    operation = _create_dataset(hc)
    assert set(operation) == {"name"}
    assert operation["name"].startswith(f"{DATASET}/operations/")
    done = _wait(hc, operation["name"])
    assert done["metadata"]["@type"] == (
        "type.googleapis.com/google.cloud.healthcare.v1.OperationMetadata"
    )
    assert done["metadata"]["apiMethodName"] == (
        "google.cloud.healthcare.v1.dataset.DatasetService.CreateDataset"
    )
    assert done["metadata"]["createTime"] and done["metadata"]["endTime"]
    assert done["response"] == {
        "@type": "type.googleapis.com/google.cloud.healthcare.v1.dataset.Dataset",
        "name": DATASET,
    }
    assert "error" not in done

    with pytest.raises(HttpError) as duplicate:
        _create_dataset(hc)
    assert duplicate.value.resp.status == 409
    assert _error(duplicate)["status"] == "ALREADY_EXISTS"

    assert _datasets(hc).get(name=DATASET).execute() == {"name": DATASET}
    listed = _datasets(hc).operations().list(name=DATASET).execute()
    assert [op["name"] for op in listed["operations"]] == [operation["name"]]


@pytest.mark.parametrize("bad_id", ["a/b", "has space", "x" * 257])
def test_dataset_ids_are_validated(hc: Resource, bad_id: str) -> None:
    with pytest.raises(HttpError) as bad:
        _create_dataset(hc, bad_id)
    assert bad.value.resp.status == 400
    assert _error(bad)["status"] == "INVALID_ARGUMENT"


def test_dataset_rejects_unknown_fields(hc: Resource) -> None:
    with pytest.raises(HttpError) as bad:
        _datasets(hc).create(parent=LOCATION, datasetId="ds", body={"labels": {"a": "b"}}).execute()
    assert bad.value.resp.status == 400
    assert 'Unknown name "labels"' in _error(bad)["message"]


def test_dataset_patch_list_delete(hc: Resource, emulator: RunningEmulator) -> None:
    for index in range(3):
        _create_dataset(hc, f"ds{index}")
    page = _datasets(hc).list(parent=LOCATION, pageSize=2).execute()
    assert len(page["datasets"]) == 2
    rest = _datasets(hc).list(parent=LOCATION, pageToken=page["nextPageToken"]).execute()
    assert [d["name"].rsplit("/", 1)[-1] for d in rest["datasets"]] == ["ds2"]
    assert "nextPageToken" not in rest
    # a listed dataset is what its get answers (the planner takes one for the other)
    for listed in page["datasets"] + rest["datasets"]:
        assert listed == _datasets(hc).get(name=listed["name"]).execute()

    name = f"{LOCATION}/datasets/ds0"
    with pytest.raises(HttpError) as no_mask:
        _datasets(hc).patch(name=name, body={"timeZone": "Europe/Paris"}).execute()
    assert no_mask.value.resp.status == 400
    patched = (
        _datasets(hc)
        .patch(name=name, updateMask="timeZone", body={"timeZone": "Europe/Paris"})
        .execute()
    )
    assert patched == {"name": name, "timeZone": "Europe/Paris"}
    with pytest.raises(HttpError) as bad_zone:
        _datasets(hc).patch(
            name=name, updateMask="timeZone", body={"timeZone": "Mars/Olympus"}
        ).execute()
    assert bad_zone.value.resp.status == 400
    with pytest.raises(HttpError) as immutable:
        _datasets(hc).patch(name=name, updateMask="encryptionSpec", body={}).execute()
    assert immutable.value.resp.status == 400

    _stores(hc).create(parent=name, dicomStoreId="s", body={}).execute()
    assert _datasets(hc).delete(name=name).execute() == {}
    with pytest.raises(HttpError) as gone:
        _datasets(hc).get(name=name).execute()
    assert gone.value.resp.status == 404
    assert _error(gone)["status"] == "NOT_FOUND"
    assert emulator.world.store.get("dicom_stores", f"{name}/dicomStores/s") is None


def test_dataset_not_initialized_window(hc: Resource, emulator: RunningEmulator) -> None:
    emulator.world.configure({"dataset_init_s": 60.0})
    _create_dataset(hc)
    with pytest.raises(HttpError) as early:
        _stores(hc).create(parent=DATASET, dicomStoreId="main", body={}).execute()
    assert early.value.resp.status == 404
    assert "dataset not initialized" in early.value.content.decode().lower()
    emulator.world.configure({"dataset_init_s": 0.0})
    assert _stores(hc).create(parent=DATASET, dicomStoreId="main", body={}).execute() == {
        "name": STORE
    }


def test_dicom_store_crud(hc: Resource) -> None:
    _create_dataset(hc)
    created = (
        _stores(hc)
        .create(
            parent=DATASET,
            dicomStoreId="main",
            body={"labels": {"managed-by": "provision"}},
        )
        .execute()
    )
    assert created == {"name": STORE, "labels": {"managed-by": "provision"}}
    with pytest.raises(HttpError) as duplicate:
        _stores(hc).create(parent=DATASET, dicomStoreId="main", body={}).execute()
    assert duplicate.value.resp.status == 409
    for bad_labels in ({"Upper": "x"}, {"k": "UPPER"}, {"": "x"}, {"1abc": "x"}):
        with pytest.raises(HttpError) as bad:
            _stores(hc).create(
                parent=DATASET, dicomStoreId="other", body={"labels": bad_labels}
            ).execute()
        assert bad.value.resp.status == 400, bad_labels
    with pytest.raises(HttpError) as bad_topic:
        _stores(hc).create(
            parent=DATASET,
            dicomStoreId="other",
            body={"notificationConfig": {"pubsubTopic": "not-a-topic"}},
        ).execute()
    assert bad_topic.value.resp.status == 400

    _stores(hc).create(
        parent=DATASET, dicomStoreId="second", body={"labels": {"env": "dev"}}
    ).execute()
    assert _stores(hc).get(name=STORE).execute() == created
    filtered = _stores(hc).list(parent=DATASET, filter="labels.managed-by=provision").execute()
    assert [s["name"] for s in filtered["dicomStores"]] == [STORE]
    assert len(_stores(hc).list(parent=DATASET).execute()["dicomStores"]) == 2

    with pytest.raises(HttpError) as no_mask:
        _stores(hc).patch(name=STORE, body={"labels": {}}).execute()
    assert no_mask.value.resp.status == 400
    topic = {"pubsubTopic": f"projects/{PROJECT}/topics/dicom"}
    patched = (
        _stores(hc)
        .patch(
            name=STORE,
            updateMask="labels,notificationConfig",
            body={
                "labels": {"managed-by": "provision", "env": "prod"},
                "notificationConfig": topic,
            },
        )
        .execute()
    )
    assert patched == {
        "name": STORE,
        "labels": {"managed-by": "provision", "env": "prod"},
        "notificationConfig": topic,
    }
    with pytest.raises(HttpError) as immutable:
        _stores(hc).patch(name=STORE, updateMask="name", body={}).execute()
    assert immutable.value.resp.status == 400

    assert _stores(hc).delete(name=STORE).execute() == {}
    with pytest.raises(HttpError) as gone:
        _stores(hc).get(name=STORE).execute()
    assert gone.value.resp.status == 404


NOT_COMPATIBLE = (
    "NotificationConfig and NotificationConfigs are not compatible. NotificationConfig is being "
    "deprecated, please use NotificationConfigs instead"
)


def test_notification_config_and_configs_are_not_compatible(hc: Resource) -> None:
    """Google refuses a body setting the deprecated `notificationConfig` and the list together;
    an item of the list is a DicomNotificationConfig (only `pubsubTopic`)."""
    _create_dataset(hc)
    topic = {"pubsubTopic": f"projects/{PROJECT}/topics/a"}
    other = {"pubsubTopic": f"projects/{PROJECT}/topics/b"}
    both = {"notificationConfig": topic, "notificationConfigs": [other]}
    with pytest.raises(HttpError) as created:
        _stores(hc).create(parent=DATASET, dicomStoreId="main", body=both).execute()
    assert created.value.resp.status == 400
    assert (_error(created)["message"], _error(created)["status"]) == (
        NOT_COMPATIBLE,
        "INVALID_ARGUMENT",
    )
    with pytest.raises(HttpError) as flagged:
        _stores(hc).create(
            parent=DATASET,
            dicomStoreId="main",
            body={"notificationConfigs": [{**topic, "sendForBulkImport": True}]},
        ).execute()
    assert flagged.value.resp.status == 400
    assert 'Unknown name "sendForBulkImport"' in _error(flagged)["message"]

    legacy = {**topic, "sendForBulkImport": True}
    _stores(hc).create(
        parent=DATASET, dicomStoreId="main", body={"notificationConfig": legacy}
    ).execute()
    mask = "notificationConfig,notificationConfigs"
    with pytest.raises(HttpError) as patched_both:
        _stores(hc).patch(name=STORE, updateMask=mask, body=both).execute()
    assert _error(patched_both)["message"] == NOT_COMPATIBLE
    moved = (
        _stores(hc)
        .patch(name=STORE, updateMask=mask, body={"notificationConfigs": [topic, other]})
        .execute()
    )
    assert moved == {"name": STORE, "notificationConfigs": [topic, other]}


@pytest.mark.parametrize(
    ("kind", "body"),
    [("fhirStores", {"version": "R4"}), ("hl7V2Stores", {}), ("consentStores", {})],
)
def test_fhir_hl7v2_and_consent_stores_exist_list_and_go_with_their_dataset(
    hc: Resource, kind: str, body: dict[str, Any]
) -> None:
    _create_dataset(hc)
    stores = getattr(_datasets(hc), kind)()
    id_param = f"{kind[:-1]}Id"
    assert stores.list(parent=DATASET).execute() == {}  # proto3 JSON: an empty list is absent
    labels = {"labels": {"team": "ehr"}}
    for store_id in ("a", "b", "c"):
        created = stores.create(parent=DATASET, body={**body, **labels}, **{id_param: store_id})
        assert created.execute() == {"name": f"{DATASET}/{kind}/{store_id}", **body, **labels}
    with pytest.raises(HttpError) as duplicate:
        stores.create(parent=DATASET, body=body, **{id_param: "a"}).execute()
    assert duplicate.value.resp.status == 409
    with pytest.raises(HttpError) as unknown:
        stores.create(parent=DATASET, body={**body, "bogus": 1}, **{id_param: "d"}).execute()
    assert unknown.value.resp.status == 400 and 'Unknown name "bogus"' in _error(unknown)["message"]
    first = stores.list(parent=DATASET, pageSize=2).execute()
    rest = stores.list(parent=DATASET, pageSize=2, pageToken=first["nextPageToken"]).execute()
    names = [s["name"] for s in first[kind] + rest[kind]]
    assert names == [f"{DATASET}/{kind}/{i}" for i in ("a", "b", "c")]
    assert "nextPageToken" not in rest
    filtered = stores.list(parent=DATASET, filter="labels.team=ehr").execute()[kind]
    assert len(filtered) == 3
    assert stores.get(name=f"{DATASET}/{kind}/a").execute()["name"] == f"{DATASET}/{kind}/a"
    assert stores.delete(name=f"{DATASET}/{kind}/a").execute() == {}
    with pytest.raises(HttpError) as gone:
        stores.get(name=f"{DATASET}/{kind}/a").execute()
    assert gone.value.resp.status == 404
    _datasets(hc).delete(name=DATASET).execute()
    _create_dataset(hc)
    assert stores.list(parent=DATASET).execute() == {}


def test_a_fhir_store_needs_a_version(hc: Resource) -> None:
    _create_dataset(hc)
    fhir = _datasets(hc).fhirStores()
    for body in ({}, {"version": "VERSION_UNSPECIFIED"}, {"version": "R6"}):
        with pytest.raises(HttpError) as refused:
            fhir.create(parent=DATASET, fhirStoreId="ehr", body=body).execute()
        assert refused.value.resp.status == 400, body
    assert fhir.list(parent=DATASET).execute() == {}


def test_healthcare_iam(hc: Resource) -> None:
    _create_dataset(hc)
    _stores(hc).create(parent=DATASET, dicomStoreId="main", body={}).execute()
    for resources, name in ((_datasets(hc), DATASET), (_stores(hc), STORE)):
        empty = resources.getIamPolicy(resource=name, options_requestedPolicyVersion=3).execute()
        assert set(empty) == {"etag"}
        binding = {"role": "roles/healthcare.dicomViewer", "members": ["user:v@example.com"]}
        written = resources.setIamPolicy(
            resource=name, body={"policy": {"bindings": [binding], "etag": empty["etag"]}}
        ).execute()
        assert written["bindings"] == [binding]
        assert written["version"] == 1
        assert written["etag"] != empty["etag"]
        assert resources.getIamPolicy(resource=name).execute() == written

        with pytest.raises(HttpError) as stale:
            resources.setIamPolicy(
                resource=name, body={"policy": {"bindings": [], "etag": empty["etag"]}}
            ).execute()
        assert stale.value.resp.status == 409
        assert _error(stale)["status"] == "ABORTED"
        assert _error(stale)["message"].startswith("There were concurrent policy changes.")

        conditional = dict(binding, condition={"title": "t", "expression": "true"})
        with pytest.raises(HttpError) as conditions:
            resources.setIamPolicy(
                resource=name, body={"policy": {"version": 3, "bindings": [conditional]}}
            ).execute()
        assert conditions.value.resp.status == 400


def test_get_iam_policy_is_a_get_with_a_query_parameter(
    hc: Resource, emulator: RunningEmulator
) -> None:
    _create_dataset(hc)
    emulator.world.journal.clear()
    _datasets(hc).getIamPolicy(resource=DATASET, options_requestedPolicyVersion=3).execute()
    (entry,) = emulator.world.journal.entries()
    assert entry.method == "GET"
    assert entry.path == f"/v1/{DATASET}:getIamPolicy"
    assert "options.requestedPolicyVersion=3" in entry.query
