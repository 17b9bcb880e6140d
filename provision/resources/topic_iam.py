"""Kind `pubsub.topic_iam` (`projects/{p}/topics/{t}`): grants on a Pub/Sub topic.

spec = {"bindings": [{"role", "members", "authoritative"?}, ...], "manual"?: true}

* A topic the blueprint declares (`topics`, kind `pubsub.topic`): its IAM policy, managed like
  every other policy (`iam`): additive per member, read-modify-write with the etag
  (`topics.getIamPolicy` / `topics.setIamPolicy`, a POST of `{policy}`). The Cloud Healthcare
  Service Agent's `roles/pubsub.publisher` on each declared topic a store notifies is derived
  here (see `blueprint.expand`), and the store waits for it.
* A topic the blueprint does not declare (`manual: true`): provision does not change IAM on
  objects it does not manage, so the grant is planned as a `manual` step: the plan shows the
  exact gcloud command, every time, and apply makes no call. Nothing is read; its permissions
  are tested on the topic itself (what running the command takes).
"""

from __future__ import annotations

from collections.abc import Sequence

from provision.gcp.methods import TOPICS
from provision.model import JSON, MANUAL_CHECKLIST_KEY, Action, Address, Change, Observed, Resource
from provision.resources import addresses, pubsub_topic
from provision.resources.base import Context, Needs, Options, Probe, RemovalScope
from provision.resources.iam import IamKind
from provision.resources.registry import register

POLICY_VERSION = 3
MANUAL_REASON = "the topic is not declared in this blueprint (`topics`); run this once"


def is_manual(spec: JSON) -> bool:
    return bool(spec.get("manual"))


@register
class TopicIamKind(IamKind):
    name = addresses.TOPIC_IAM
    parent_kind = addresses.TOPIC
    api = pubsub_topic.API
    requires_services = frozenset({pubsub_topic.PUBSUB})
    set_method = f"{TOPICS}.setIamPolicy"
    iam_admin_roles = frozenset({"roles/pubsub.admin", "roles/owner"})
    needs = Needs(
        "roles/pubsub.admin (on the topic)",
        ("pubsub.topics.getIamPolicy", "pubsub.topics.setIamPolicy"),
    )

    def get_policy(self, ctx: Context, resource_name: str) -> JSON:
        return ctx.api.call(
            f"{TOPICS}.getIamPolicy",
            resource=resource_name,
            options_requestedPolicyVersion=POLICY_VERSION,
        )

    def set_policy(self, ctx: Context, resource_name: str, policy: JSON) -> JSON:
        return ctx.api.call(self.set_method, resource=resource_name, body={"policy": policy})

    def read(self, ctx: Context, resource: Resource) -> Observed:
        if is_manual(resource.spec):
            return Observed(exists=False, fields={"unread": True})
        return super().read(ctx, resource)

    def diff(self, resource: Resource, observed: Observed, options: Options) -> Change:
        if not is_manual(resource.spec):
            return super().diff(resource, observed, options)
        topic = resource.address.name
        steps = [
            f"gcloud pubsub topics add-iam-policy-binding {topic} --member={member} "
            f"--role={binding['role']}"
            for binding in resource.spec.get("bindings") or []
            for member in binding.get("members") or []
        ]
        after: JSON = {**resource.spec, MANUAL_CHECKLIST_KEY: steps}
        return Change(
            resource.address,
            Action.MANUAL,
            after=after,
            reason=MANUAL_REASON,
            depends_on=resource.depends_on,
        )

    def probes(self, resource: Resource) -> list[Probe]:
        """Each member of a managed topic's bindings holds its role (the agent publishes)."""
        return [] if is_manual(resource.spec) else self.binding_probes(resource)

    def checked_on(self, resource: Resource) -> Address | str:
        """The topic: declared (tested once it exists), or outside the blueprint."""
        if is_manual(resource.spec):
            return resource.address.name
        return super().checked_on(resource)

    def test_permissions(self, ctx: Context, name: str, permissions: Sequence[str]) -> set[str]:
        return pubsub_topic.test_permissions(ctx, name, permissions)

    def removal_read(self, ctx: Context, resource: Resource) -> JSON | None:
        if is_manual(resource.spec):
            return None
        return super().removal_read(ctx, resource)

    def plan_removal(
        self, ctx: Context, resource: Resource, state: JSON, scope: RemovalScope
    ) -> Change | None:
        if is_manual(resource.spec):
            return None
        return super().plan_removal(ctx, resource, state, scope)
