"""Cloud Healthcare batches (`POST /batch`, the discovery document's `batchPath`), driven by the
client library's own batch (`new_batch_http_request`) and raw HTTP."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import httplib2
import pytest
from googleapiclient.discovery import Resource
from googleapiclient.errors import HttpError
from googleapiclient.http import HttpRequest

from provision.emulator.server import RunningEmulator
from tests.conftest import journal
from tests.emulator.clients import control
from tests.emulator.seeding import client, healthcare_client, seed_project

PROJECT = "hc-batch"
LOCATION = f"projects/{PROJECT}/locations/us-central1"
DATASETS = ("ds-a", "ds-b")
PUBSUB = "pubsub.googleapis.com"
VIEWER = "roles/healthcare.datasetViewer"

Outcome = tuple[str, Any, Exception | None]


@pytest.fixture
def healthcare(emulator: RunningEmulator) -> Iterator[Resource]:
    """The healthcare v1 discovery client on the emulator, with two datasets, each with a DICOM
    store and a binding of its own (so every answer is told apart)."""
    seed_project(emulator.world, PROJECT, services=("healthcare.googleapis.com", PUBSUB))
    hc = healthcare_client(emulator)
    datasets = hc.projects().locations().datasets()
    for dataset_id in DATASETS:
        datasets.create(parent=LOCATION, datasetId=dataset_id, body={}).execute()
        name = f"{LOCATION}/datasets/{dataset_id}"
        datasets.dicomStores().create(parent=name, dicomStoreId="store", body={}).execute()
        policy = {
            "bindings": [{"role": "roles/healthcare.datasetViewer", "members": [_member(name)]}]
        }
        datasets.setIamPolicy(resource=name, body={"policy": policy}).execute()
    emulator.world.journal.clear()
    yield hc


def _member(name: str) -> str:
    return f"user:{name.rsplit('/', 1)[-1]}@example.com"


def _run(
    emulator: RunningEmulator, service: Resource, requests: list[HttpRequest]
) -> list[Outcome]:
    """Send `requests` as one batch built by the client library for `service` (its batch URI
    from the discovery document's `batchPath`, on the emulator)."""
    outcomes: list[Outcome] = []
    batch = service.new_batch_http_request(
        callback=lambda request_id, response, exception: outcomes.append(
            (request_id, response, exception)
        )
    )
    batch._batch_uri = emulator.base_url + "/batch"  # the document's rootUrl is Google's
    for request in requests:
        batch.add(request)
    batch.execute(http=httplib2.Http(timeout=30))
    return outcomes


def _datasets(hc: Resource) -> Any:
    return hc.projects().locations().datasets()


def test_calls_answer_in_order_as_they_do_alone(
    emulator: RunningEmulator, healthcare: Resource
) -> None:
    datasets = _datasets(healthcare)
    names = [f"{LOCATION}/datasets/{d}" for d in DATASETS]

    def calls() -> list[HttpRequest]:
        return [
            datasets.getIamPolicy(resource=names[0], options_requestedPolicyVersion=3),
            datasets.dicomStores().list(parent=names[1], pageSize=10),
            datasets.getIamPolicy(resource=names[1], options_requestedPolicyVersion=3),
            datasets.dicomStores().getIamPolicy(resource=f"{names[0]}/dicomStores/store"),
        ]

    alone = [call.execute() for call in calls()]
    outcomes = _run(emulator, healthcare, calls())
    assert [exception for _, _, exception in outcomes] == [None] * 4
    assert [response for _, response, _ in outcomes] == alone
    assert alone[0]["bindings"][0]["members"] == [_member(names[0])]
    assert [s["name"] for s in alone[1]["dicomStores"]] == [f"{names[1]}/dicomStores/store"]
    entries = journal(emulator)[len(alone) :]
    assert [(e["api"], e["method_id"], e["in_batch"]) for e in entries] == [
        ("healthcare", "projects.locations.datasets.getIamPolicy", True),
        ("healthcare", "projects.locations.datasets.dicomStores.list", True),
        ("healthcare", "projects.locations.datasets.getIamPolicy", True),
        ("healthcare", "projects.locations.datasets.dicomStores.getIamPolicy", True),
        ("healthcare", "batch", False),
    ]
    assert entries[-1]["path"] == "/batch"


def test_a_missing_dataset_fails_only_its_call(
    emulator: RunningEmulator, healthcare: Resource
) -> None:
    datasets = _datasets(healthcare)
    outcomes = _run(
        emulator,
        healthcare,
        [
            datasets.getIamPolicy(resource=f"{LOCATION}/datasets/absent"),
            datasets.getIamPolicy(resource=f"{LOCATION}/datasets/{DATASETS[0]}"),
        ],
    )
    missing = outcomes[0][2]
    assert isinstance(missing, HttpError) and missing.status_code == 404
    assert json.loads(missing.content)["error"]["status"] == "NOT_FOUND"
    assert outcomes[1][2] is None


def test_a_call_of_another_api_under_v1_answers_400_and_runs_nowhere(
    emulator: RunningEmulator, healthcare: Resource
) -> None:
    """Pub/Sub's paths are under `/v1/projects/` too; Healthcare's endpoint runs none of them."""
    topics = client(emulator, "pubsub", "v1").projects().topics()
    outcomes = _run(
        emulator,
        healthcare,
        [
            topics.create(name=f"projects/{PROJECT}/topics/not-made", body={}),
            _datasets(healthcare).get(name=f"{LOCATION}/datasets/{DATASETS[0]}"),
        ],
    )
    outside = outcomes[0][2]
    assert isinstance(outside, HttpError) and outside.status_code == 400
    error = json.loads(outside.content)["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert "not a Cloud Healthcare API call" in error["message"]
    assert outcomes[1][2] is None
    assert [(e["api"], e["status"]) for e in journal(emulator)] == [
        ("unknown", 400),
        ("healthcare", 200),
        ("healthcare", 200),
    ]
    assert "not-made" not in json.dumps(emulator.world.store.documents())


def test_batches_off_answer_404_like_an_unserved_path(
    emulator: RunningEmulator, healthcare: Resource
) -> None:
    control(emulator, "settings", {"healthcare_batch": False})
    with pytest.raises(HttpError) as refused:
        _run(emulator, healthcare, [_datasets(healthcare).get(name=f"{LOCATION}/datasets/ds-a")])
    assert refused.value.status_code == 404
    assert json.loads(refused.value.content)["error"]["status"] == "NOT_FOUND"
    assert [(e["path"], e["method_id"]) for e in journal(emulator)] == [("/batch", "unknown")]


def test_more_calls_than_the_limit_run_nothing(emulator: RunningEmulator) -> None:
    part = (
        f"--b\r\nContent-Type: application/http\r\n\r\nGET /v1/{LOCATION}/datasets HTTP/1.1\r\n\r\n"
    )
    body = (part * 1001 + "--b--\r\n").encode()
    host, port = emulator.base_url.removeprefix("http://").split(":")
    with closing(http.client.HTTPConnection(host, int(port), timeout=30)) as conn:
        conn.request(
            "POST", "/batch", body=body, headers={"Content-Type": "multipart/mixed; boundary=b"}
        )
        response = conn.getresponse()
        status, data = response.status, response.read()
    assert status == 400
    error = json.loads(data)["error"]
    assert error["status"] == "INVALID_ARGUMENT" and "1001" in error["message"]
    assert [(e["method_id"], e["status"]) for e in journal(emulator)] == [("batch", 400)]
