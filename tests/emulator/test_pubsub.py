"""Cloud Pub/Sub v1 topics on the emulator through the discovery client: create, get, list,
patch, delete, publish and IAM, with Google's errors."""

from __future__ import annotations

from typing import Any

import pytest
from googleapiclient.discovery import Resource
from googleapiclient.errors import HttpError

from provision.emulator.server import RunningEmulator
from tests.emulator.clients import control, error_body
from tests.emulator.seeding import client, seed_project

PROJECT = "ps-test"
TOPIC = f"projects/{PROJECT}/topics/dicom-events"


@pytest.fixture
def topics(emulator: RunningEmulator) -> Any:
    seed_project(emulator.world, PROJECT, services=("pubsub.googleapis.com",))
    service: Resource = client(emulator, "pubsub", "v1")
    return service.projects().topics()


def _refused(request: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(HttpError) as refused:
        request.execute()
    return refused.value.resp.status, error_body(refused.value)["error"]


def test_a_topic_is_created_read_listed_and_deleted(topics: Any) -> None:
    status, error = _refused(topics.get(topic=TOPIC))
    assert (status, error["message"]) == (404, "Resource not found (resource=dicom-events).")
    created = topics.create(name=TOPIC, body={"labels": {"env": "prod"}}).execute()
    assert created == {"name": TOPIC, "labels": {"env": "prod"}}
    assert topics.get(topic=TOPIC).execute() == created
    assert topics.list(project=f"projects/{PROJECT}").execute() == {"topics": [created]}
    status, error = _refused(topics.create(name=TOPIC, body={}))
    assert (status, error["status"]) == (409, "ALREADY_EXISTS")
    assert error["message"] == "Resource already exists in the project (resource=dicom-events)."
    assert topics.delete(topic=TOPIC).execute() == {}
    assert topics.list(project=f"projects/{PROJECT}").execute() == {}


def test_topic_names_follow_pubsubs_rules(topics: Any) -> None:
    for bad in ("ab", "1topic", "goog-topic", "top ic"):
        name = f"projects/{PROJECT}/topics/{bad}"
        status, error = _refused(topics.create(name=name, body={}))
        assert (status, error["message"]) == (400, f"Invalid [topics] name: (name={name})")


def test_patch_sets_the_masked_labels(topics: Any) -> None:
    topics.create(name=TOPIC, body={"labels": {"env": "dev"}}).execute()
    body = {"topic": {"labels": {"env": "prod", "team": "imaging"}}, "updateMask": "labels"}
    patched = topics.patch(name=TOPIC, body=body).execute()
    assert patched["labels"] == {"env": "prod", "team": "imaging"}
    status, _ = _refused(topics.patch(name=TOPIC, body={"topic": {"labels": {}}}))
    assert status == 400
    status, _ = _refused(topics.patch(name=TOPIC, body={"topic": {}, "updateMask": "name"}))
    assert status == 400


def test_topic_iam_and_published_messages(emulator: RunningEmulator, topics: Any) -> None:
    topics.create(name=TOPIC, body={}).execute()
    policy = topics.getIamPolicy(resource=TOPIC).execute()
    binding = {"role": "roles/pubsub.publisher", "members": ["user:a@example.com"]}
    body = {"policy": {"bindings": [binding], "etag": policy["etag"]}}
    stored = topics.setIamPolicy(resource=TOPIC, body=body).execute()
    assert stored["bindings"] == [binding]
    assert topics.getIamPolicy(resource=TOPIC).execute() == stored
    asked = {"permissions": ["pubsub.topics.publish"]}
    assert topics.testIamPermissions(resource=TOPIC, body=asked).execute() == asked
    sent = {"messages": [{"data": "aGVsbG8=", "attributes": {"k": "v"}}]}
    answer = topics.publish(topic=TOPIC, body=sent).execute()
    assert len(answer["messageIds"]) == 1
    [message] = control(emulator, "messages")[TOPIC]
    assert message["data"] == "aGVsbG8="
    assert message["attributes"] == {"k": "v"}
    assert message["messageId"] == answer["messageIds"][0]


def test_pubsub_needs_its_api_enabled(emulator: RunningEmulator) -> None:
    seed_project(emulator.world, "no-pubsub", services=())
    topics = client(emulator, "pubsub", "v1").projects().topics()
    status, error = _refused(topics.create(name="projects/no-pubsub/topics/t1", body={}))
    assert status == 403
    assert error["details"][0]["reason"] == "SERVICE_DISABLED"
