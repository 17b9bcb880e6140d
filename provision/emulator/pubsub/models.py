"""Cloud Pub/Sub v1 state and rules: topics, their IAM policies, and the messages published on
them.

Collections: `pubsub_topics` (key `projects/{projectId}/topics/{topic}`) and `pubsub_messages`
(key `{topic}/{sequence}`: what was published, oldest first; the control plane shows them, see
`GET /_emulator/messages`). Policies use the shared policies collection under the topic's name.
Subscriptions are not emulated.
"""

from __future__ import annotations

import base64
import copy
import re
from collections.abc import Mapping
from typing import Any

from provision.emulator.core import iam
from provision.emulator.core.errors import ApiError, invalid_argument
from provision.emulator.core.world import World, project_policy_name

SERVICE = "pubsub.googleapis.com"
TOPICS = "pubsub_topics"
MESSAGES = "pubsub_messages"

TOPIC_ID = re.compile(r"^[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$")
"""Pub/Sub resource names: a letter, then 2-254 letters, digits or `-_.~+%`; not `goog...`."""
TOPIC_NAME = re.compile(r"^projects/([^/]+)/topics/([^/]+)$")
TOPIC_MUTABLE = frozenset(
    {"labels", "messageStoragePolicy", "kmsKeyName", "schemaSettings", "messageRetentionDuration"}
)
PUBLISHERS = frozenset(
    {"roles/pubsub.publisher", "roles/pubsub.editor", "roles/pubsub.admin", "roles/owner"}
    | {"roles/editor"}
)
"""Roles that hold `pubsub.topics.publish`."""


def not_found(topic_id: str) -> ApiError:
    """404 as recorded (golden iam__iampartialpolicy__resources__pubsubtopic)."""
    return ApiError("NOT_FOUND", f"Resource not found (resource={topic_id}).")


def check_topic_id(name: str) -> None:
    topic_id = name.rsplit("/", 1)[1]
    if not TOPIC_ID.match(topic_id) or topic_id.lower().startswith("goog"):
        raise invalid_argument(f"Invalid [topics] name: (name={name})")


def check_labels(labels: Any) -> dict[str, str]:
    """Cloud labels: at most 64, keys `[a-z][a-z0-9_-]{0,62}`, values `[a-z0-9_-]{0,63}`
    (lowercase letters in any script count as letters)."""
    if not isinstance(labels, dict) or len(labels) > 64:
        raise invalid_argument("labels must be a map of at most 64 entries.")
    for key, value in labels.items():
        key_ok = bool(re.fullmatch(r"[^\W\d_A-Z][\w-]{0,62}", key)) and key == key.lower()
        value_ok = isinstance(value, str) and bool(re.fullmatch(r"[\w-]{0,63}", value))
        if not key_ok or not value_ok or value != value.lower():
            raise invalid_argument(f'Invalid label "{key}": "{value}".')
    return dict(labels)


def find_topic(world: World, name: str) -> dict[str, Any] | None:
    return world.store.get(TOPICS, name)


def require_topic(world: World, name: str) -> dict[str, Any]:
    topic = find_topic(world, name)
    if topic is None:
        raise not_found(name.rsplit("/", 1)[1])
    return topic


def _fields(body: Mapping[str, Any]) -> dict[str, Any]:
    out = {key: copy.deepcopy(value) for key, value in body.items() if key in TOPIC_MUTABLE}
    if "labels" in out:
        out["labels"] = check_labels(out["labels"])
    return {key: value for key, value in out.items() if value not in (None, {}, "")}


def create_topic(world: World, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
    check_topic_id(name)
    if body.get("name") not in (None, "", name):
        raise invalid_argument(f"The topic name in the body ({body['name']}) is not {name}.")
    if find_topic(world, name) is not None:
        topic_id = name.rsplit("/", 1)[1]
        raise ApiError(
            "ALREADY_EXISTS", f"Resource already exists in the project (resource={topic_id})."
        )
    record = {"name": name, **_fields(body)}
    world.store.put(TOPICS, name, record)
    return record


def list_topics(world: World, project_id: str) -> list[dict[str, Any]]:
    return world.store.values(TOPICS, f"projects/{project_id}/topics/")


def patch_topic(world: World, topic: dict[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    """`UpdateTopicRequest`: `topic` and the `updateMask` of the fields to change."""
    mask = body.get("updateMask")
    paths = [path.strip() for path in str(mask or "").split(",") if path.strip()]
    if not paths:
        raise invalid_argument("The update_mask is required.")
    given = _fields(body.get("topic") or {})
    record = copy.deepcopy(topic)
    for path in paths:
        if path not in TOPIC_MUTABLE:
            raise invalid_argument(
                f"Invalid update_mask provided in the UpdateTopicRequest: {path}"
            )
        if path in given:
            record[path] = given[path]
        else:
            record.pop(path, None)
    world.store.put(TOPICS, record["name"], record)
    return record


def delete_topic(world: World, name: str) -> None:
    world.store.delete(TOPICS, name)
    iam.delete_policy(world, name)
    for key, _ in world.store.items(MESSAGES, f"{name}/"):
        world.store.delete(MESSAGES, key)


# ----- publishing


def can_publish(world: World, topic_name: str, member: str) -> bool:
    """Whether `member` may publish on the topic (a publishing role on it or its project, in
    effect); a topic that does not exist takes nothing."""
    name = canonical(world, topic_name)
    found = TOPIC_NAME.match(name)
    project = world.find_project(found[1]) if found else None
    if project is None or find_topic(world, name) is None:
        return False
    resources = (name, project_policy_name(project["number"]))
    return iam.member_holds_any(world, resources, member, PUBLISHERS)


def canonical(world: World, topic_name: str) -> str:
    """The topic's name with its project's ID (a project number is accepted)."""
    found = TOPIC_NAME.match(topic_name)
    project = world.find_project(found[1]) if found else None
    if found is None or project is None:
        return topic_name
    return f"projects/{project['projectId']}/topics/{found[2]}"


def publish(world: World, topic_name: str, data: bytes, attributes: Mapping[str, str]) -> str:
    """Record one message on the topic; returns its message id."""
    name = canonical(world, topic_name)
    number = world.store.next_value(f"pubsub:{name}")
    message_id = world.ids.digits(16)
    world.store.put(
        MESSAGES,
        f"{name}/{number:012d}",
        {
            "messageId": message_id,
            "data": base64.b64encode(data).decode(),
            "attributes": dict(attributes),
            "publishTime": world.now_rfc3339(),
        },
    )
    return message_id


def messages(world: World) -> dict[str, list[dict[str, Any]]]:
    """Every recorded message by topic name, oldest first."""
    by_topic: dict[str, list[dict[str, Any]]] = {}
    for key, message in world.store.items(MESSAGES):
        by_topic.setdefault(key.rsplit("/", 1)[0], []).append(message)
    return by_topic
