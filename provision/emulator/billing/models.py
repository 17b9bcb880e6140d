"""Cloud Billing v1: which billing account a project is linked to.

Stored in `BILLING` under the project id as `{billingAccountName, linkedAt}`. The resource name
echoes the project reference as the caller gave it (id or number), as Google does.
"""

from __future__ import annotations

import re
from typing import Any

from provision.emulator.core.errors import invalid_argument
from provision.emulator.core.world import BILLING, World

DOMAIN = "cloudbilling.googleapis.com"
ACCOUNT = re.compile(r"^billingAccounts/[0-9A-Z]{6}-[0-9A-Z]{6}-[0-9A-Z]{6}$")


def _project(world: World, ref: str, permission: str) -> dict[str, Any]:
    return world.require_project(ref, permission, DOMAIN)


def render(world: World, ref: str, project: dict[str, Any]) -> dict[str, Any]:
    """ProjectBillingInfo; unbilled projects carry `""` and `false` explicitly."""
    info = world.store.get(BILLING, project["projectId"]) or {}
    account = str(info.get("billingAccountName") or "")
    return {
        "name": f"projects/{ref}/billingInfo",
        "projectId": project["projectId"],
        "billingAccountName": account,
        "billingEnabled": world.billing_enabled(project["projectId"]),
    }


def get_billing_info(world: World, ref: str) -> dict[str, Any]:
    project = _project(world, ref, "resourcemanager.projects.get")
    return render(world, ref, project)


def update_billing_info(world: World, ref: str, body: dict[str, Any]) -> dict[str, Any]:
    """Link (`billingAccounts/XXXXXX-XXXXXX-XXXXXX`) or unlink (empty name) the project."""
    project = _project(world, ref, "resourcemanager.projects.createBillingAssignment")
    account = body.get("billingAccountName") or ""
    if not isinstance(account, str) or (account and not ACCOUNT.match(account)):
        raise invalid_argument(
            f"Invalid billing account name '{account}': expected "
            "billingAccounts/XXXXXX-XXXXXX-XXXXXX."
        )
    if account:
        world.store.put(
            BILLING, project["projectId"], {"billingAccountName": account, "linkedAt": world.now()}
        )
    else:
        world.store.delete(BILLING, project["projectId"])
    return render(world, ref, project)
