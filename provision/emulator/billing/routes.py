"""Cloud Billing v1 over HTTP: `/v1/projects/{project}/billingInfo` and
`billingAccounts.testIamPermissions`."""

from __future__ import annotations

from typing import Any

from provision.emulator.billing import models
from provision.emulator.core.errors import invalid_argument
from provision.emulator.core.routing import Ctx, Route

API = "cloudbilling"


def get_billing_info(ctx: Ctx) -> dict[str, Any]:
    return models.get_billing_info(ctx.world, ctx.params["project"])


def update_billing_info(ctx: Ctx) -> dict[str, Any]:
    return models.update_billing_info(ctx.world, ctx.params["project"], ctx.json())


def test_account_permissions(ctx: Ctx) -> dict[str, Any]:
    """What was asked minus the `denied_permissions` setting."""
    permissions = ctx.json().get("permissions") or []
    if not isinstance(permissions, list) or not all(isinstance(p, str) for p in permissions):
        raise invalid_argument("permissions must be a list of strings")
    denied = set(ctx.world.settings.denied_permissions)
    held = [permission for permission in permissions if permission not in denied]
    return {"permissions": held} if held else {}


def routes() -> list[Route]:
    path = "/v1/projects/{project}/billingInfo"
    return [
        Route("GET", path, get_billing_info, API, "projects.getBillingInfo", False),
        Route("PUT", path, update_billing_info, API, "projects.updateBillingInfo", True),
        Route(
            "POST",
            "/v1/billingAccounts/{account}:testIamPermissions",
            test_account_permissions,
            API,
            "billingAccounts.testIamPermissions",
            False,
        ),
    ]
