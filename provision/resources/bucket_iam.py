"""Kind `storage.bucket_iam` (`projects/_/buckets/{name}`): a bucket's IAM policy.

spec = {"bindings": [{"role", "members", "condition"?, "authoritative"?}, ...]}; additive per
member unless a binding is authoritative (see `iam`).

Cloud Storage differs from the other IAM APIs: getIamPolicy is `GET .../iam` with
`optionsRequestedPolicyVersion`, setIamPolicy is a PUT whose body is the policy itself (with its
etag), and a concurrent change answers 412 conditionNotMet, which restarts the read-modify-write.
The legacy bindings Storage gives every bucket (`roles/storage.legacyBucketOwner` ->
`projectEditor:`/`projectOwner:`, `roles/storage.legacyBucketReader` -> `projectViewer:`) are
kept like any binding the blueprint does not mention.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from provision.gcp.methods import BUCKETS
from provision.model import JSON
from provision.resources import addresses
from provision.resources.base import Claim, Context, Needs
from provision.resources.bucket import API, STORAGE
from provision.resources.iam import IamKind, policy_read_key
from provision.resources.prefetch import in_background, remembering
from provision.resources.registry import register

POLICY_VERSION = 3
GET_POLICY = f"{BUCKETS}.getIamPolicy"
SET_POLICY = f"{BUCKETS}.setIamPolicy"


def policy_params(resource_name: str) -> dict[str, Any]:
    """The `getIamPolicy` parameters of the bucket `projects/_/buckets/{name}`, read alone or
    in a batch."""
    return {
        "bucket": addresses.bucket_of(resource_name),
        "optionsRequestedPolicyVersion": POLICY_VERSION,
    }


def get_policy(ctx: Context, resource_name: str) -> JSON:
    """The IAM policy of the bucket `projects/_/buckets/{name}`."""
    return ctx.api.call(GET_POLICY, **policy_params(resource_name))


@register
class BucketIamKind(IamKind):
    name = addresses.BUCKET_IAM
    parent_kind = addresses.BUCKET
    needs = Needs(
        "roles/storage.admin (on the bucket)",
        ("storage.buckets.getIamPolicy", "storage.buckets.setIamPolicy"),
    )
    api = API
    requires_services = frozenset({STORAGE})
    set_method = SET_POLICY
    iam_admin_roles = frozenset({"roles/storage.admin", "roles/storage.legacyBucketOwner"})

    def get_policy(self, ctx: Context, resource_name: str) -> JSON:
        return get_policy(ctx, resource_name)

    def set_policy(self, ctx: Context, resource_name: str, policy: JSON) -> JSON:
        return ctx.api.call(SET_POLICY, bucket=addresses.bucket_of(resource_name), body=policy)


def prefetch_policies(ctx: Context, listed: Collection[str]) -> None:
    """While planning, read the policies of the plan's bucket IAM objects whose bucket is in
    `listed` in batched requests (up to 100 per request, see `GoogleApi.batch`), in the
    background (`prefetch.in_background`), and remember each as what its own read would answer.

    A policy whose call failed (alone, or with its whole batch) is not remembered: that object
    then reads its own policy, which reports any failure (a 403 included) against its address.
    """
    targets = [
        a.name for a in ctx.planned(BucketIamKind.name) if addresses.bucket_of(a.name) in listed
    ]
    if len(targets) < 2 or not ctx.api.can_batch(API):  # one call needs no batch
        return
    keys = [policy_read_key(target) for target in targets]

    def read_all(claim: Claim) -> None:
        calls = [policy_params(target) for target in targets]
        ctx.api.batch(GET_POLICY, calls, remembering(ctx, claim, keys))

    in_background(ctx, keys, read_all, "bucket-policy-batches")
