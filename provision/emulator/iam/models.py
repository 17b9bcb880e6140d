"""IAM v1 service accounts: create, get (by email or unique id, `projects/-` too), list, patch,
enable/disable, delete, and each account's own IAM policy.

User-created accounts share `SERVICE_ACCOUNTS` with service agents (keyed by lowercase email);
agents carry `serviceAgent` and are not visible through this API, as they live in Google's
projects. A new account stays invisible for `service_account_visible_s` (eventual consistency).
"""

from __future__ import annotations

import base64
import re
from typing import Any

from provision.emulator.core import iam as policies
from provision.emulator.core.errors import (
    ApiError,
    already_exists,
    invalid_argument,
    permission_denied,
)
from provision.emulator.core.world import SERVICE_ACCOUNTS, World

DOMAIN = "iam.googleapis.com"
ACCOUNT_ID = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])$")
UNKNOWN = "Unknown service account"


def _project(world: World, ref: str, permission: str) -> dict[str, Any]:
    return world.require_project(ref, permission, DOMAIN)


def render(account: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": f"projects/{account['projectId']}/serviceAccounts/{account['email']}",
        "projectId": account["projectId"],
        "uniqueId": account["uniqueId"],
        "email": account["email"],
    }
    if account.get("displayName"):
        body["displayName"] = account["displayName"]
    body["etag"] = account["etag"]
    if account.get("description"):
        body["description"] = account["description"]
    body["oauth2ClientId"] = account["oauth2ClientId"]
    if account.get("disabled"):
        body["disabled"] = True
    return body


def _etag(world: World) -> str:
    return base64.b64encode(world.ids.digits(8).encode()).decode()


def unknown_account() -> ApiError:
    """404 exactly as recorded: with the legacy `errors[]` array."""
    return ApiError("NOT_FOUND", UNKNOWN, legacy_reason="notFound")


def _validate_texts(display_name: Any, description: Any) -> None:
    if display_name is not None and (
        not isinstance(display_name, str) or len(display_name.encode()) > 100
    ):
        raise invalid_argument("The display name must be at most 100 bytes of UTF-8 text.")
    if description is not None and (
        not isinstance(description, str) or len(description.encode()) > 256
    ):
        raise invalid_argument("The description must be at most 256 bytes of UTF-8 text.")


def create(world: World, ref: str, body: dict[str, Any]) -> dict[str, Any]:
    project = _project(world, ref, "iam.serviceAccounts.create")
    account_id = body.get("accountId")
    if not isinstance(account_id, str) or not account_id:
        raise invalid_argument("account_id must be set.")
    if not 6 <= len(account_id) <= 30:
        raise invalid_argument(
            f'The account ID "{account_id}" does not have a length between 6 and 30.'
        )
    if not ACCOUNT_ID.match(account_id):
        raise invalid_argument(
            f'The account ID "{account_id}" is invalid: it must match [a-z]([-a-z0-9]*[a-z0-9]).'
        )
    details = body.get("serviceAccount") or {}
    if not isinstance(details, dict):
        raise invalid_argument("service_account must be an object.")
    _validate_texts(details.get("displayName"), details.get("description"))
    email = f"{account_id}@{project['projectId']}.iam.gserviceaccount.com"
    if world.store.get(SERVICE_ACCOUNTS, email) is not None:
        raise already_exists(
            f"Service account {account_id} already exists within project "
            f"projects/{project['projectId']}.",
            legacy_reason="alreadyExists",
        )
    unique_id = world.ids.digits(21)
    account: dict[str, Any] = {
        "accountId": account_id,
        "email": email,
        "projectId": project["projectId"],
        "projectNumber": project["number"],
        "uniqueId": unique_id,
        "oauth2ClientId": unique_id,
        "etag": _etag(world),
        "visibleAt": world.now() + world.settings.service_account_visible_s,
    }
    for key in ("displayName", "description"):
        if details.get(key):
            account[key] = details[key]
    world.store.put(SERVICE_ACCOUNTS, email, account)
    return render(account)


def lookup(world: World, project_ref: str, account_ref: str) -> dict[str, Any] | None:
    """A visible user-created account by email or unique id, within `project_ref` (or `-`)."""
    account: dict[str, Any] | None
    if "@" in account_ref:
        account = world.store.get(SERVICE_ACCOUNTS, account_ref.lower())
    else:
        account = next(
            (
                candidate
                for candidate in world.store.values(SERVICE_ACCOUNTS)
                if candidate.get("uniqueId") == account_ref
            ),
            None,
        )
    if (
        account is None
        or account.get("serviceAgent")
        or world.service_account(account["email"]) is None
    ):
        return None
    if project_ref != "-":
        project = world.find_project(project_ref)
        if project is None or project["projectId"] != account["projectId"]:
            return None
    return account


def require(world: World, project_ref: str, account_ref: str, permission: str) -> dict[str, Any]:
    """The account, or 404 "Unknown service account" (403 with the `projects/-` wildcard, as
    Google warns it answers then)."""
    account = lookup(world, project_ref, account_ref)
    if account is None:
        if project_ref == "-":
            raise permission_denied(permission, "", DOMAIN)
        raise unknown_account()
    return account


def get(world: World, project_ref: str, account_ref: str) -> dict[str, Any]:
    return render(require(world, project_ref, account_ref, "iam.serviceAccounts.get"))


def list_accounts(world: World, ref: str) -> list[dict[str, Any]]:
    project = _project(world, ref, "iam.serviceAccounts.list")
    now = world.now()
    return [
        render(account)
        for account in world.store.values(SERVICE_ACCOUNTS)
        if account.get("projectId") == project["projectId"]
        and not account.get("serviceAgent")
        and float(account.get("visibleAt", 0.0)) <= now
    ]


def patch(world: World, project_ref: str, account_ref: str, body: dict[str, Any]) -> dict[str, Any]:
    """`serviceAccounts.patch`; answers the account's `name` and the patched fields only, as
    Google does (golden iam__serviceaccount.http.log: `{"description": ..., "name": ...}`)."""
    account = require(world, project_ref, account_ref, "iam.serviceAccounts.update")
    changes = body.get("serviceAccount") or {}
    mask = body.get("updateMask")
    if not isinstance(changes, dict) or not isinstance(mask, str) or not mask:
        raise invalid_argument("update_mask must be set.")
    patched: list[str] = []
    for path in (part.strip() for part in mask.split(",")):
        key = {"display_name": "displayName", "description": "description"}.get(path, path)
        patched.append(key)
        if key not in ("displayName", "description"):
            raise invalid_argument(f"Invalid update mask path: {path}.")
        _validate_texts(
            changes.get(key) if key == "displayName" else None,
            changes.get(key) if key == "description" else None,
        )
        if changes.get(key):
            account[key] = changes[key]
        else:
            account.pop(key, None)
    account["etag"] = _etag(world)
    world.store.put(SERVICE_ACCOUNTS, account["email"], account)
    shown = render(account)
    return {key: shown[key] for key in sorted({"name", *patched}) if key in shown}


def set_disabled(world: World, project_ref: str, account_ref: str, disabled: bool) -> None:
    permission = "iam.serviceAccounts.disable" if disabled else "iam.serviceAccounts.enable"
    account = require(world, project_ref, account_ref, permission)
    account["disabled"] = disabled
    world.store.put(SERVICE_ACCOUNTS, account["email"], account)


def delete(world: World, project_ref: str, account_ref: str) -> None:
    """Delete the account; bindings naming it become `deleted:serviceAccount:EMAIL?uid=ID`."""
    account = require(world, project_ref, account_ref, "iam.serviceAccounts.delete")
    world.store.delete(SERVICE_ACCOUNTS, account["email"])
    policies.delete_policy(world, policy_resource(account))
    member = f"serviceAccount:{account['email']}"
    policies.rename_member(world, member, f"deleted:{member}?uid={account['uniqueId']}")


def policy_resource(account: dict[str, Any]) -> str:
    return f"projects/{account['projectId']}/serviceAccounts/{account['email']}"


def get_policy(
    world: World, project_ref: str, account_ref: str, requested_version: int
) -> dict[str, Any]:
    account = require(world, project_ref, account_ref, "iam.serviceAccounts.getIamPolicy")
    return policies.get_policy(world, policy_resource(account), requested_version)


def set_policy(
    world: World, project_ref: str, account_ref: str, body: dict[str, Any]
) -> dict[str, Any]:
    account = require(world, project_ref, account_ref, "iam.serviceAccounts.setIamPolicy")
    policy = body.get("policy")
    if not isinstance(policy, dict):
        raise invalid_argument("policy must be set.")
    return policies.set_policy(
        world,
        policy_resource(account),
        policy,
        policies.RESOURCE_MANAGER,
        update_mask=body.get("updateMask"),
    )
