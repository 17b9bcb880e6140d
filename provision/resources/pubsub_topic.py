"""Kind `pubsub.topic` (`projects/{p}/topics/{t}`): a Cloud Pub/Sub topic.

spec = {"projectId", "topicId", "labels": {..}, "adopt": bool}

* Created (`topics.create`, a PUT of the caller-chosen name) with its labels plus
  `managed-by: provision`; an existing topic without that label needs `adopt: true` (the plan
  then says it adopts the topic; adopting writes no ownership label, only the declared labels,
  see `ownership`). A 409 on create reads the topic back and adopts it when it is provision's.
* Labels are additive: declared keys are set (one `topics.patch` with `updateMask: labels`),
  others left alone.
* A topic holds no messages itself (its subscriptions do, and they are not provision's), but
  other systems may subscribe to it: `provision destroy` deletes a topic provision owns only
  when named with --allow-delete, and keeps it otherwise, saying why. A topic dropped from the
  blueprint is simply no longer managed (no orphan scan).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from provision.errors import ApplyError, GoogleApiError
from provision.gcp.methods import TOPICS
from provision.model import JSON, Action, Address, Change, FieldDiff, Observed, Resource
from provision.resources import addresses, ownership
from provision.resources.base import (
    Context,
    Kind,
    Needs,
    Options,
    Probe,
    RemovalScope,
    compared,
    map_diffs,
    readable,
    removal,
)
from provision.resources.registry import register

PUBSUB = "pubsub.googleapis.com"
"""The API as `services` enables it."""
API = "pubsub"
"""The API as the gateway names it (`Kind.api`)."""
KEPT = (
    "other systems may subscribe to a topic; provision deletes it only when named with "
    "--allow-delete"
)


def get_topic(ctx: Context, name: str) -> JSON | None:
    """The topic, or None on 404 (403 is raised: unreadable never means absent)."""
    try:
        return ctx.api.call(f"{TOPICS}.get", topic=name)
    except GoogleApiError as error:
        if error.http_status == 404:
            return None
        raise


@register
class TopicKind(Kind):
    name = addresses.TOPIC
    api = API
    requires_services = frozenset({PUBSUB})
    removable = True
    noun = "Pub/Sub topic"
    needs = Needs(
        "roles/pubsub.editor",
        ("pubsub.topics.get", "pubsub.topics.update"),
        ("pubsub.topics.create",),
    )

    def read(self, ctx: Context, resource: Resource) -> Observed:
        topic = get_topic(ctx, resource.address.name)
        return Observed.absent() if topic is None else observe(topic)

    def diff(self, resource: Resource, observed: Observed, options: Options) -> Change:
        wanted = owned(resource.spec)
        if not observed.exists:
            return Change(
                resource.address,
                Action.CREATE,
                after=wanted,
                diffs=(FieldDiff("labels", None, wanted["labels"]),),
                depends_on=resource.depends_on,
                observed_exists=False,
            )
        labels = observed.fields.get("labels") or {}
        wanted, reason = ownership.managed_or_adopted(
            resource, labels, wanted, "Pub/Sub topic", "topics"
        )
        diffs = map_diffs("labels", labels, wanted["labels"])
        return compared(resource, observed, wanted, diffs, reason)

    # -- applying -------------------------------------------------------------------------

    def create(self, ctx: Context, change: Change) -> Observed | None:
        spec = change.after or {}
        name = change.address.name
        try:
            topic = ctx.api.call(
                f"{TOPICS}.create", name=name, body={"labels": dict(spec["labels"])}
            )
        except GoogleApiError as error:
            if error.http_status != 409:
                raise
            found = get_topic(ctx, change.address.name)
            return self.adopt_after_conflict(ctx, change, None if found is None else observe(found))
        return observe(topic)

    def update(self, ctx: Context, change: Change) -> Observed | None:
        spec = change.after or {}
        if not change.diffs:
            return None
        labels = ownership.labels_to_write(get_topic(ctx, change.address.name), spec["labels"])
        topic = ctx.api.call(
            f"{TOPICS}.patch",
            name=change.address.name,
            body={"topic": {"name": change.address.name, "labels": labels}, "updateMask": "labels"},
        )
        return observe(topic)

    def delete(self, ctx: Context, change: Change) -> None:
        """Delete the topic (planned only when named with --allow-delete) if still ours."""
        topic = get_topic(ctx, change.address.name)
        if topic is None:
            return
        if not ownership.is_managed(topic.get("labels")):
            raise ApplyError(
                f"{change.address}: no longer labelled managed-by: provision; not deleting it"
            )
        ctx.api.call(f"{TOPICS}.delete", topic=change.address.name)

    # -- verifying ------------------------------------------------------------------------

    def probes(self, resource: Resource) -> list[Probe]:
        """The topic exists and is provision's."""
        name = resource.address.name
        return [Probe("topic exists", name, lambda ctx: topic_exists(ctx, name))]

    # -- permissions ----------------------------------------------------------------------

    def created_in(self, resource: Resource) -> Address:
        return addresses.project(resource.spec["projectId"])

    def visible(self, ctx: Context, address: Address) -> bool:
        return readable(lambda: get_topic(ctx, address.name))

    def test_permissions(self, ctx: Context, name: str, permissions: Sequence[str]) -> set[str]:
        return test_permissions(ctx, name, permissions)

    # -- removing -------------------------------------------------------------------------

    def removal_read(self, ctx: Context, resource: Resource) -> JSON | None:
        topic = get_topic(ctx, resource.address.name)
        return None if topic is None else {"labels": dict(topic.get("labels") or {})}

    def plan_removal(
        self, ctx: Context, resource: Resource, state: JSON, scope: RemovalScope
    ) -> Change:
        """Owned and named with --allow-delete: delete; otherwise keep, saying why."""
        labels = state.get("labels") or {}
        if not ownership.is_managed(labels):
            return removal(resource, {"labels": dict(labels)}, Action.FORGET, ownership.NOT_MANAGED)
        if scope.is_named(resource.address):
            return removal(resource, state, Action.DELETE, "named with --allow-delete")
        return removal(resource, state, Action.FORGET, KEPT)


def test_permissions(ctx: Context, name: str, permissions: Sequence[str]) -> set[str]:
    """Which of `permissions` the caller holds on the topic `name`."""
    answer = ctx.api.call(
        f"{TOPICS}.testIamPermissions", resource=name, body={"permissions": list(permissions)}
    )
    return {str(p) for p in answer.get("permissions") or []}


def topic_exists(ctx: Context, name: str) -> tuple[bool, str]:
    """For `verify`: the topic exists (and whether provision owns it)."""
    topic = get_topic(ctx, name)
    if topic is None:
        return False, "the topic does not exist"
    owner = "managed by provision" if ownership.is_managed(topic.get("labels")) else "not labelled"
    return True, owner


def owned(spec: Mapping[str, Any]) -> JSON:
    return {
        "projectId": spec["projectId"],
        "topicId": spec["topicId"],
        "labels": ownership.with_label(spec.get("labels")),
        "adopt": bool(spec.get("adopt", False)),
    }


def observe(topic: Mapping[str, Any]) -> Observed:
    return Observed(exists=True, fields={"labels": dict(topic.get("labels") or {})})
