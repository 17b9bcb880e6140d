"""IAM v1 project-level custom roles (`projects.roles`): create, get, list, patch, delete,
undelete, as iam.v1.json describes them.

A role is stored under `projects/{projectId}/roles/{roleId}`. Deleting marks it `deleted` (Google
keeps a deleted role for 7 days, during which `undelete` restores it and its id cannot be used
again). Roles named in IAM policies must exist and not be deleted
(`provision.emulator.core.iam.role_exists`).

Where Google's behaviour is not documented in the discovery document, the emulator chooses, and
says so: creating an id held by a deleted role answers 409 ALREADY_EXISTS (Google refuses it; the
exact status is not documented); patching a deleted role answers 400 FAILED_PRECONDITION.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from provision.emulator.core.errors import ApiError, already_exists, invalid_argument, not_found
from provision.emulator.core.iam import CUSTOM_ROLE, ROLES
from provision.emulator.core.world import World

DOMAIN = "iam.googleapis.com"
ROLE_ID = re.compile(r"^[a-zA-Z0-9_.]{3,64}$")
"""CreateRoleRequest.roleId: "alphanumeric characters, underscores and periods ... a minimum of
3 characters and a maximum of 64"."""
PERMISSION = re.compile(r"^[a-z][a-zA-Z0-9]*(\.[a-zA-Z][a-zA-Z0-9]*){2,}$")
STAGES = frozenset({"ALPHA", "BETA", "GA", "DEPRECATED", "DISABLED", "EAP"})
MUTABLE = ("title", "description", "includedPermissions", "stage")
TITLE_LIMIT = 100
DESCRIPTION_LIMIT = 300
"""Google's documented limits on a role's title and description (bytes of UTF-8)."""


def _etag(world: World) -> str:
    return base64.b64encode(world.ids.digits(8).encode()).decode()


def render(role: dict[str, Any], *, full: bool = True) -> dict[str, Any]:
    """The Role resource; an ALPHA role has no `stage` ("will not be included")."""
    body: dict[str, Any] = {"name": role["name"]}
    for key in ("title", "description"):
        if role.get(key):
            body[key] = role[key]
    if full and role.get("includedPermissions"):
        body["includedPermissions"] = list(role["includedPermissions"])
    if role.get("stage", "ALPHA") != "ALPHA":
        body["stage"] = role["stage"]
    body["etag"] = role["etag"]
    if role.get("deleted"):
        body["deleted"] = True
    return body


def _project_id(world: World, parent: str, permission: str) -> str:
    project = world.require_project(parent.removeprefix("projects/"), permission, DOMAIN)
    return str(project["projectId"])


def _validate(role: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """The given `fields` of a Role body, checked."""
    out: dict[str, Any] = {}
    for key in fields:
        if key not in role:
            continue
        value = role[key]
        if key in ("title", "description"):
            limit = TITLE_LIMIT if key == "title" else DESCRIPTION_LIMIT
            if not isinstance(value, str) or len(value.encode()) > limit:
                raise invalid_argument(f"The {key} must be at most {limit} bytes of UTF-8 text.")
        elif key == "stage":
            if value not in STAGES:
                raise invalid_argument(f"Invalid value at 'role.stage' ({value!r})")
        else:
            _check_permissions(value)
            value = sorted(set(value))
        out[key] = value
    return out


def _check_permissions(value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise invalid_argument("included_permissions must be a list of strings.")
    for permission in value:
        if not PERMISSION.match(permission):
            raise invalid_argument(f"Permission {permission} is not valid.")


def create(world: World, parent: str, body: dict[str, Any]) -> dict[str, Any]:
    project_id = _project_id(world, parent, "iam.roles.create")
    role_id = body.get("roleId")
    if not isinstance(role_id, str) or not ROLE_ID.match(role_id):
        raise invalid_argument(
            "The role ID must be 3 to 64 characters: letters, digits, underscores and periods."
        )
    role = body.get("role") or {}
    if not isinstance(role, dict):
        raise invalid_argument("role must be an object.")
    if role.get("name"):
        raise invalid_argument("The role name must not be set when creating a role.")
    name = f"projects/{project_id}/roles/{role_id}"
    existing = world.store.get(ROLES, name)
    if existing is not None:
        state = " (it was deleted recently)" if existing.get("deleted") else ""
        raise already_exists(
            f"A role named {role_id} in projects/{project_id} already exists{state}."
        )
    record = {"name": name, "stage": "ALPHA", **_validate(role, MUTABLE), "etag": _etag(world)}
    world.store.put(ROLES, name, record)
    return render(record)


def _require(world: World, name: str, permission: str) -> dict[str, Any]:
    match = CUSTOM_ROLE.match(name)
    if match is None:
        raise invalid_argument(f"The role name {name} is invalid.")
    _project_id(world, match[1], permission)
    role = world.store.get(ROLES, name)
    if role is None:
        raise not_found(f"The role named {name} was not found.")
    return role


def get(world: World, name: str) -> dict[str, Any]:
    return render(_require(world, name, "iam.roles.get"))


def list_roles(
    world: World, parent: str, *, show_deleted: bool, full: bool
) -> list[dict[str, Any]]:
    project_id = _project_id(world, parent, "iam.roles.list")
    roles = world.store.values(ROLES, f"projects/{project_id}/roles/")
    return [render(r, full=full) for r in roles if show_deleted or not r.get("deleted")]


def patch(world: World, name: str, body: dict[str, Any], update_mask: str | None) -> dict[str, Any]:
    role = _require(world, name, "iam.roles.update")
    if role.get("deleted"):
        raise ApiError("FAILED_PRECONDITION", f"You can't update the deleted role {name}.")
    _check_etag(role, body)
    mask = tuple(f for f in (update_mask or "").split(",") if f) or MUTABLE
    unknown = [f for f in mask if f not in MUTABLE]
    if unknown:
        raise invalid_argument(f"Invalid update_mask path: {unknown[0]}.")
    changes = _validate(body, mask)
    cleared = {f: [] if f == "includedPermissions" else "" for f in mask if f not in changes}
    updated = {**role, **cleared, **changes, "etag": _etag(world)}
    world.store.put(ROLES, name, updated)
    return render(updated)


def _check_etag(role: dict[str, Any], body: dict[str, Any]) -> None:
    etag = body.get("etag")
    if etag and etag != role["etag"]:
        raise ApiError(
            "ABORTED",
            "There were concurrent policy changes. Please retry the whole read-modify-write "
            "with exponential backoff.",
        )


def delete(world: World, name: str, etag: str | None) -> dict[str, Any]:
    role = _require(world, name, "iam.roles.delete")
    _check_etag(role, {"etag": etag})
    updated = {**role, "deleted": True, "etag": _etag(world)}
    world.store.put(ROLES, name, updated)
    return render(updated)


def undelete(world: World, name: str, body: dict[str, Any]) -> dict[str, Any]:
    role = _require(world, name, "iam.roles.undelete")
    _check_etag(role, body)
    updated = {**role, "etag": _etag(world)}
    updated.pop("deleted", None)
    world.store.put(ROLES, name, updated)
    return render(updated)
