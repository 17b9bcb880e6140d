"""Kind `billing` (`projects/{id}/billingInfo`): the project's billing account link.

spec = {"projectId", "billingAccountName": "billingAccounts/XXXXXX-XXXXXX-XXXXXX"}

Only linking is managed: a blueprint without `billingAccount` has no billing resource, and
provision never unlinks billing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from provision.gcp.methods import BILLING_ACCOUNTS, BILLING_INFO
from provision.model import Action, Change, FieldDiff, Observed, Resource
from provision.resources import addresses
from provision.resources.addresses import project_name
from provision.resources.base import Context, Kind, Needs, Options
from provision.resources.registry import register


@register
class BillingKind(Kind):
    name = addresses.BILLING
    api = "cloudbilling"
    needs = Needs(
        "roles/billing.user (on the billing account)", ("billing.resourceAssociations.create",)
    )

    def checked_on(self, resource: Resource) -> str:
        """The billing account (the link is authorised there)."""
        return str(resource.spec["billingAccountName"])

    def test_permissions(self, ctx: Context, name: str, permissions: Sequence[str]) -> set[str]:
        answer = ctx.api.call(
            f"{BILLING_ACCOUNTS}.testIamPermissions",
            resource=name,
            body={"permissions": list(permissions)},
        )
        return {str(p) for p in answer.get("permissions") or []}

    def read(self, ctx: Context, resource: Resource) -> Observed:
        info = ctx.api.call(
            f"{BILLING_INFO}.getBillingInfo", name=project_name(resource.spec["projectId"])
        )
        return observe(info)

    def diff(self, resource: Resource, observed: Observed, options: Options) -> Change:
        wanted = {
            "projectId": resource.spec["projectId"],
            "billingAccountName": resource.spec["billingAccountName"],
        }
        current = observed.fields.get("billingAccountName") or ""
        if observed.exists and current == wanted["billingAccountName"]:
            action = Action.NOOP
        else:
            action = Action.UPDATE if observed.exists else Action.CREATE
        diffs: tuple[FieldDiff, ...] = ()
        if action is not Action.NOOP:
            diffs = (
                FieldDiff("billingAccountName", current or None, wanted["billingAccountName"]),
            )
        return Change(
            resource.address,
            action,
            before=dict(observed.fields) if observed.exists else None,
            after=wanted,
            diffs=diffs,
            depends_on=resource.depends_on,
            observed_exists=observed.exists,
        )

    def create(self, ctx: Context, change: Change) -> Observed | None:
        return self.update(ctx, change)

    def update(self, ctx: Context, change: Change) -> Observed | None:
        spec = change.after or {}
        info = ctx.api.call(
            f"{BILLING_INFO}.updateBillingInfo",
            name=project_name(spec["projectId"]),
            body={"billingAccountName": spec["billingAccountName"]},
        )
        return observe(info)


def observe(info: Mapping[str, Any]) -> Observed:
    return Observed(
        exists=True,
        fields={
            "billingAccountName": str(info.get("billingAccountName") or ""),
            "billingEnabled": bool(info.get("billingEnabled", False)),
        },
    )
