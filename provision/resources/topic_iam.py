"""Kind `pubsub.topic_iam` (`projects/{p}/topics/{t}`): grants on a Pub/Sub topic, as a manual step.

spec = {"bindings": [{"role", "members"}, ...]}

provision does not manage Pub/Sub, so a service-agent grant on a topic (e.g. the Cloud
Healthcare Service Agent publishing DICOM store notifications) is planned as a `manual` step:
the plan shows the exact gcloud command, every time, and apply makes no call. Nothing is read.
"""

from __future__ import annotations

from provision.model import JSON, MANUAL_CHECKLIST_KEY, Action, Change, Observed, Resource
from provision.resources import addresses
from provision.resources.base import Context, Kind, Options
from provision.resources.registry import register

"""Where a `manual` change lists its steps (rendered as `[ ]` items by the plan renderers)."""


@register
class TopicIamKind(Kind):
    name = addresses.TOPIC_IAM
    api = "pubsub"

    def read(self, ctx: Context, resource: Resource) -> Observed:
        return Observed(exists=False, fields={"unread": True})

    def diff(self, resource: Resource, observed: Observed, options: Options) -> Change:
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
            reason="provision does not manage Pub/Sub topic IAM; run this once",
            depends_on=resource.depends_on,
        )
