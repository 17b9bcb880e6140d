"""Shared by `healthcare.dataset_iam` and `healthcare.dicom_store_iam` (see `iam`).

Healthcare's getIamPolicy is a GET with `options.requestedPolicyVersion`; setIamPolicy is a POST
with `{policy}`. Healthcare policies take no conditions: a binding with one is a plan error
(the blueprint loader already refuses them; this guards other callers).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from provision.errors import GoogleApiError, PlanError
from provision.model import JSON, Change, Observed, Resource
from provision.resources import healthcare
from provision.resources.base import Context, Options, Probe
from provision.resources.iam import IamKind, policy_read_key

POLICY_VERSION = 3


def policy_params(resource_name: str) -> dict[str, Any]:
    """The `getIamPolicy` parameters of a dataset or DICOM store, read alone or in a batch."""
    return {"resource": resource_name, "options_requestedPolicyVersion": POLICY_VERSION}


class HealthcareIamKind(IamKind):
    """Base of the dataset and DICOM store IAM kinds; `collection` is the discovery path."""

    api = healthcare.API
    requires_services = frozenset({healthcare.SERVICE})
    collection = ""

    def get_policy(self, ctx: Context, resource_name: str) -> JSON:
        return ctx.api.call(f"{self.collection}.getIamPolicy", **policy_params(resource_name))

    def prefetch_policies(self, ctx: Context, targets: Sequence[str]) -> None:
        """While planning, read the policies of `targets` (datasets or stores of this kind's
        collection) in batched requests and remember each as what its own read would answer.
        A policy whose call failed is not remembered: its object then reads it alone, which
        reports any failure (a 403 included) against its own address."""

        def answered(first: int, answers: list[JSON | GoogleApiError]) -> None:
            for target, answer in zip(targets[first:], answers, strict=False):
                if not isinstance(answer, GoogleApiError):
                    ctx.remember(policy_read_key(target), answer)

        method = f"{self.collection}.getIamPolicy"
        ctx.api.batch(method, [policy_params(target) for target in targets], answered)

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
