"""Shared by `healthcare.dataset_iam` and `healthcare.dicom_store_iam` (see `iam`).

Healthcare's getIamPolicy is a GET with `options.requestedPolicyVersion`; setIamPolicy is a POST
with `{policy}`. Healthcare policies take no conditions: a binding with one is a plan error
(the blueprint loader already refuses them; this guards other callers).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from provision.errors import PlanError
from provision.model import JSON, Change, Observed, Resource
from provision.resources import healthcare
from provision.resources.base import Claim, Context, Options, Probe
from provision.resources.iam import IamKind, policy_read_key
from provision.resources.prefetch import remembering

POLICY_VERSION = 3


def policy_params(resource_name: str) -> dict[str, Any]:
    """The `getIamPolicy` parameters of a dataset or DICOM store, read alone or in a batch."""
    return {"resource": resource_name, "options_requestedPolicyVersion": POLICY_VERSION}


def prefetch_policies(ctx: Context, claim: Claim, collection: str, targets: Sequence[str]) -> None:
    """While planning, read the policies of `targets` (datasets or stores of `collection`, e.g.
    `DATASETS`) in batched requests and remember each as what its own read would answer (see
    `prefetch.remembering`: a failed call is left to its object's own read, which reports it)."""
    keys = [policy_read_key(target) for target in targets]
    calls = [policy_params(target) for target in targets]
    ctx.api.batch(f"{collection}.getIamPolicy", calls, remembering(ctx, claim, keys))


class HealthcareIamKind(IamKind):
    """Base of the dataset and DICOM store IAM kinds; `collection` is the discovery path."""

    api = healthcare.API
    requires_services = frozenset({healthcare.SERVICE})
    collection = ""

    def get_policy(self, ctx: Context, resource_name: str) -> JSON:
        return ctx.api.call(f"{self.collection}.getIamPolicy", **policy_params(resource_name))

    def set_policy(self, ctx: Context, resource_name: str, policy: JSON) -> JSON:
        return ctx.api.call(
            f"{self.collection}.setIamPolicy", resource=resource_name, body={"policy": policy}
        )

    def probes(self, resource: Resource) -> list[Probe]:
        """Every member granted a role on a dataset or store holds it: the viewer principals
        OHIF and Orthanc users sign in as."""
        return self.binding_probes(resource)

    def diff(self, resource: Resource, observed: Observed, options: Options) -> Change:
        for binding in resource.spec.get("bindings") or []:
            if binding.get("condition"):
                raise PlanError(
                    f"{resource.address}: bindings[{binding.get('role')}]: Cloud Healthcare "
                    "datasets and DICOM stores do not accept IAM conditions"
                )
        return super().diff(resource, observed, options)
