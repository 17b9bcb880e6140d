"""Cloud Pub/Sub v1 topics over HTTP: create (PUT), get, list, patch, delete, publish, and the
topic's IAM policy, under `/v1/projects/{project}/topics/...`.

Every call first requires `pubsub.googleapis.com` enabled on the project (403 SERVICE_DISABLED,
or 403 "(or it may not exist)" for an unknown project).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from provision.emulator.core import iam, paging
from provision.emulator.core.errors import invalid_argument
from provision.emulator.core.routing import Ctx, Route
from provision.emulator.pubsub import models
from provision.emulator.pubsub.models import SERVICE

TOPICS = "/v1/projects/{project}/topics"
TOPIC = f"{TOPICS}/{{topic}}"


def _project_id(ctx: Ctx) -> str:
    project = ctx.world.require_service(ctx.params["project"], SERVICE, domain=SERVICE)
    return str(project["projectId"])


def _name(ctx: Ctx) -> str:
    return f"projects/{_project_id(ctx)}/topics/{ctx.params['topic']}"


def _topic(ctx: Ctx) -> dict[str, Any]:
    return models.require_topic(ctx.world, _name(ctx))


def create(ctx: Ctx) -> dict[str, Any]:
    return models.create_topic(ctx.world, _name(ctx), ctx.json())


def get(ctx: Ctx) -> dict[str, Any]:
    return _topic(ctx)


def list_topics(ctx: Ctx) -> dict[str, Any]:
    topics = models.list_topics(ctx.world, _project_id(ctx))
    size = paging.page_size(ctx.query.get("pageSize"), default=100, maximum=1000)
    page, token = paging.paginate(
        topics, size=size, token=ctx.query.get("pageToken"), scope=ctx.request.path
    )
    answer: dict[str, Any] = {}
    if page:
        answer["topics"] = page
    if token:
        answer["nextPageToken"] = token
    return answer


def patch(ctx: Ctx) -> dict[str, Any]:
    return models.patch_topic(ctx.world, _topic(ctx), ctx.json())


def delete(ctx: Ctx) -> dict[str, Any]:
    models.delete_topic(ctx.world, _topic(ctx)["name"])
    return {}


def publish(ctx: Ctx) -> dict[str, Any]:
    topic = _topic(ctx)
    messages = ctx.json().get("messages") or []
    if not messages:
        raise invalid_argument("The request contains no messages.")
    ids = []
    for message in messages:
        try:
            data = base64.b64decode(str(message.get("data", "")), validate=True)
        except (binascii.Error, ValueError):
            raise invalid_argument("Invalid data in message: not base64.") from None
        attributes = message.get("attributes") or {}
        if not data and not attributes:
            raise invalid_argument("Some messages are empty: give data or attributes.")
        ids.append(models.publish(ctx.world, topic["name"], data, attributes))
    return {"messageIds": ids}


def get_policy(ctx: Ctx) -> dict[str, Any]:
    version = iam.requested_version(ctx.query.get("options.requestedPolicyVersion"))
    return iam.get_policy(ctx.world, _topic(ctx)["name"], version)


def set_policy(ctx: Ctx) -> dict[str, Any]:
    return iam.set_policy_request(ctx.world, _topic(ctx)["name"], ctx.json(), iam.PUBSUB)


def test_permissions(ctx: Ctx) -> dict[str, Any]:
    _topic(ctx)
    return iam.tested_permissions(ctx.world, ctx.json())


def routes() -> list[Route]:

    def route(
        method: str, template: str, handler: Callable[[Ctx], Any], name: str, mutating: bool
    ) -> Route:
        return Route(method, template, handler, "pubsub", f"projects.topics.{name}", mutating)

    return [
        route("PUT", TOPIC, create, "create", True),
        route("GET", TOPICS, list_topics, "list", False),
        route("GET", TOPIC, get, "get", False),
        route("PATCH", TOPIC, patch, "patch", True),
        route("DELETE", TOPIC, delete, "delete", True),
        route("POST", f"{TOPIC}:publish", publish, "publish", True),
        route("GET", f"{TOPIC}:getIamPolicy", get_policy, "getIamPolicy", False),
        route("POST", f"{TOPIC}:setIamPolicy", set_policy, "setIamPolicy", True),
        route("POST", f"{TOPIC}:testIamPermissions", test_permissions, "testIamPermissions", False),
    ]
