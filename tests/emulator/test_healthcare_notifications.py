"""A DICOM store's Pub/Sub notifications: each stored instance is published on the store's
topics when the Healthcare service agent may publish there, and logged as a failure when not."""

from __future__ import annotations

import base64
import urllib.error
from dataclasses import dataclass
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud.storage import Client
from googleapiclient.discovery import Resource
from googleapiclient.errors import HttpError

from provision.emulator import samples
from provision.emulator.server import RunningEmulator
from tests.emulator.clients import control
from tests.emulator.seeding import client, healthcare_client, seed_project, stow

PROJECT = "notify-test"
DATASET = f"projects/{PROJECT}/locations/us-central1/datasets/ds"
STORE = f"{DATASET}/dicomStores/main"
TOPIC = f"projects/{PROJECT}/topics/dicom-events"


@dataclass
class Setup:
    emulator: RunningEmulator
    hc: Resource
    topics: Any
    agent: str


@pytest.fixture
def setup(emulator: RunningEmulator) -> Setup:
    services = ("healthcare.googleapis.com", "pubsub.googleapis.com")
    number = seed_project(emulator.world, PROJECT, services=services)
    hc = healthcare_client(emulator)
    hc.projects().locations().datasets().create(
        parent=f"projects/{PROJECT}/locations/us-central1", datasetId="ds", body={}
    ).execute()
    topics = client(emulator, "pubsub", "v1").projects().topics()
    topics.create(name=TOPIC, body={}).execute()
    agent = f"serviceAccount:service-{number}@gcp-sa-healthcare.iam.gserviceaccount.com"
    return Setup(emulator, hc, topics, agent)


def _stores(setup: Setup) -> Any:
    return setup.hc.projects().locations().datasets().dicomStores()


def _create_store(setup: Setup, body: dict[str, Any]) -> None:
    _stores(setup).create(parent=DATASET, dicomStoreId="main", body=body).execute()


def _grant_publisher(setup: Setup) -> None:
    policy = {"bindings": [{"role": "roles/pubsub.publisher", "members": [setup.agent]}]}
    setup.topics.setIamPolicy(resource=TOPIC, body={"policy": policy}).execute()


def _messages(setup: Setup) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = control(setup.emulator, "messages").get(TOPIC, [])
    return found


def test_without_the_publisher_role_nothing_is_published_and_the_failure_is_logged(
    setup: Setup,
) -> None:
    _create_store(setup, {"notificationConfigs": [{"pubsubTopic": TOPIC}]})
    stow(setup.emulator, STORE, [s.data for s in samples.generate(2, seed=1)])
    assert _messages(setup) == []
    logged = control(setup.emulator, "logs")
    assert len(logged) == 2
    assert all(entry["topic"] == TOPIC and entry["severity"] == "ERROR" for entry in logged)
    assert "pubsub.topics.publish" in logged[0]["message"]


def test_with_the_publisher_role_each_stored_instance_is_published(setup: Setup) -> None:
    _grant_publisher(setup)
    _create_store(setup, {"notificationConfigs": [{"pubsubTopic": TOPIC}]})
    [sample] = samples.generate(1, seed=2)
    stow(setup.emulator, STORE, [sample.data])
    [message] = _messages(setup)
    instance = (
        f"{STORE}/dicomWeb/studies/{sample.study_uid}/series/{sample.series_uid}"
        f"/instances/{sample.sop_uid}"
    )
    assert base64.b64decode(message["data"]).decode() == instance
    attributes = message["attributes"]
    assert attributes["action"] == "StoreInstances"
    assert attributes["storeName"] == STORE
    assert attributes["sopInstanceUID"] == sample.sop_uid
    assert attributes["modality"] == "CT"
    assert attributes["storageClass"] == "STANDARD"
    with pytest.raises(urllib.error.HTTPError):  # 409: already stored
        stow(setup.emulator, STORE, [sample.data])
    assert len(_messages(setup)) == 1, "storing the same instance again notifies nobody"
    assert control(setup.emulator, "logs") == []


def test_a_fresh_grant_publishes_only_once_in_effect(setup: Setup) -> None:
    setup.emulator.world.configure({"iam_effect_delay_s": 600.0})
    _grant_publisher(setup)
    _create_store(setup, {"notificationConfigs": [{"pubsubTopic": TOPIC}]})
    stow(setup.emulator, STORE, [samples.generate(1, seed=3)[0].data])
    assert _messages(setup) == []


def _import(setup: Setup, count: int) -> None:
    gcs = Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": setup.emulator.base_url},
    )
    bucket = gcs.create_bucket("notify-test-dicom")
    for sample in samples.generate(count, seed=4):
        bucket.blob(sample.path).upload_from_string(sample.data)
    policy = bucket.get_iam_policy()
    policy["roles/storage.objectViewer"] = {setup.agent}
    bucket.set_iam_policy(policy)
    body = {"gcsSource": {"uri": "gs://notify-test-dicom/**"}}
    _stores(setup).import_(name=STORE, body=body).execute()


def test_an_import_notifies_with_its_action(setup: Setup) -> None:
    _grant_publisher(setup)
    _create_store(setup, {"notificationConfigs": [{"pubsubTopic": TOPIC}]})
    _import(setup, 3)
    actions = [m["attributes"]["action"] for m in _messages(setup)]
    assert actions == ["ImportDicomData"] * 3


def test_the_deprecated_config_notifies_imports_only_when_asked(setup: Setup) -> None:
    _grant_publisher(setup)
    _create_store(setup, {"notificationConfig": {"pubsubTopic": TOPIC}})
    _import(setup, 2)
    assert _messages(setup) == []
    stow(setup.emulator, STORE, [samples.generate(1, seed=5)[0].data])
    [message] = _messages(setup)
    assert "attributes" not in message or message["attributes"] == {}


def test_topics_are_not_checked_when_the_store_is_created_unless_asked(setup: Setup) -> None:
    missing = f"projects/{PROJECT}/topics/missing"
    _create_store(setup, {"notificationConfigs": [{"pubsubTopic": missing}]})
    setup.emulator.world.configure({"notification_topic_check": True})
    with pytest.raises(HttpError) as refused:
        _stores(setup).patch(
            name=STORE,
            updateMask="notificationConfigs",
            body={"notificationConfigs": [{"pubsubTopic": TOPIC}]},
        ).execute()
    assert refused.value.resp.status == 400, "the agent may not publish to it yet"
    _grant_publisher(setup)
    patched = (
        _stores(setup)
        .patch(
            name=STORE,
            updateMask="notificationConfigs",
            body={"notificationConfigs": [{"pubsubTopic": TOPIC}]},
        )
        .execute()
    )
    assert patched["notificationConfigs"] == [{"pubsubTopic": TOPIC}]
