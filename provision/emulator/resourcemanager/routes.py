"""Cloud Resource Manager v3 over HTTP: `/v3/projects...` and `/v3/operations/...`."""

from __future__ import annotations

from typing import Any

from provision.emulator.core import iam, lro
from provision.emulator.core.errors import ApiError, invalid_argument
from provision.emulator.core.paging import page_size, paginate
from provision.emulator.core.routing import Ctx, Route
from provision.emulator.resourcemanager import models

API = "cloudresourcemanager"
OPERATION_KINDS = ("cp.", "dp.", "up.")


def get_project(ctx: Ctx) -> dict[str, Any]:
    project = models.require(ctx.world, ctx.params["project"], "resourcemanager.projects.get")
    return models.render(project, numeric_enums=ctx.numeric_enums)


def create_project(ctx: Ctx) -> dict[str, Any]:
    return models.start_create(ctx.world, ctx.json())


def delete_project(ctx: Ctx) -> dict[str, Any]:
    return models.start_delete(ctx.world, ctx.params["project"])


def undelete_project(ctx: Ctx) -> dict[str, Any]:
    return models.start_undelete(ctx.world, ctx.params["project"])


def patch_project(ctx: Ctx) -> dict[str, Any]:
    return models.start_update(
        ctx.world, ctx.params["project"], ctx.json(), ctx.query.get("updateMask")
    )


def _page(ctx: Ctx, projects: list[dict[str, Any]], scope: str) -> dict[str, Any]:
    size = page_size(ctx.query.get("pageSize"), default=100, maximum=500)
    chunk, token = paginate(projects, size=size, token=ctx.query.get("pageToken"), scope=scope)
    body: dict[str, Any] = {}
    if chunk:
        body["projects"] = [models.render(p, numeric_enums=ctx.numeric_enums) for p in chunk]
    if token:
        body["nextPageToken"] = token
    return body


def search_projects(ctx: Ctx) -> dict[str, Any]:
    query = ctx.query.get("query", "")
    return _page(ctx, models.search_projects(ctx.world, query), f"search|{query}")


def list_projects(ctx: Ctx) -> dict[str, Any]:
    parent = ctx.query.get("parent", "")
    show_deleted = ctx.query.get("showDeleted", "false").lower() == "true"
    projects = models.list_projects(ctx.world, parent, show_deleted=show_deleted)
    return _page(ctx, projects, f"list|{parent}|{show_deleted}")


def get_iam_policy(ctx: Ctx) -> dict[str, Any]:
    options = ctx.json().get("options") or {}
    try:
        version = int(options.get("requestedPolicyVersion") or 0)
    except (TypeError, ValueError):
        raise invalid_argument("Invalid requested policy version.") from None
    policy = models.get_policy(ctx.world, ctx.params["project"], version)
    return iam.with_enum_encoding(policy, ctx.numeric_enums)


def set_iam_policy(ctx: Ctx) -> dict[str, Any]:
    body = ctx.json()
    policy = body.get("policy")
    if not isinstance(policy, dict):
        raise invalid_argument("Request contains an invalid argument.")
    written = models.set_policy(ctx.world, ctx.params["project"], policy, body.get("updateMask"))
    return iam.with_enum_encoding(written, ctx.numeric_enums)


def test_iam_permissions(ctx: Ctx) -> dict[str, Any]:
    permissions = ctx.json().get("permissions") or []
    if not isinstance(permissions, list) or not all(isinstance(p, str) for p in permissions):
        raise invalid_argument("permissions must be a list of strings")
    held = models.test_permissions(ctx.world, ctx.params["project"], permissions)
    return {"permissions": held} if held else {}


def test_parent_permissions(ctx: Ctx) -> dict[str, Any]:
    """`organizations/folders.testIamPermissions`: what was asked minus `denied_permissions`."""
    permissions = ctx.json().get("permissions") or []
    if not isinstance(permissions, list) or not all(isinstance(p, str) for p in permissions):
        raise invalid_argument("permissions must be a list of strings")
    denied = set(ctx.world.settings.denied_permissions)
    held = [permission for permission in permissions if permission not in denied]
    return {"permissions": held} if held else {}


def get_operation(ctx: Ctx) -> dict[str, Any]:
    name = "operations/" + ctx.params["operation"]
    operation = (
        lro.poll(ctx.world, name) if ctx.params["operation"].startswith(OPERATION_KINDS) else None
    )
    if operation is None:
        raise ApiError("NOT_FOUND", f"Operation '{name}' not found.")
    return operation


def routes() -> list[Route]:

    def route(method: str, template: str, handler: Any, method_id: str, mutating: bool) -> Route:
        return Route(method, template, handler, API, method_id, mutating)

    return [
        route("GET", "/v3/projects:search", search_projects, "projects.search", False),
        route("GET", "/v3/projects", list_projects, "projects.list", False),
        route("POST", "/v3/projects", create_project, "projects.create", True),
        route("GET", "/v3/projects/{project}", get_project, "projects.get", False),
        route("PATCH", "/v3/projects/{project}", patch_project, "projects.patch", True),
        route("DELETE", "/v3/projects/{project}", delete_project, "projects.delete", True),
        route(
            "POST",
            "/v3/projects/{project}:undelete",
            undelete_project,
            "projects.undelete",
            True,
        ),
        route(
            "POST",
            "/v3/projects/{project}:getIamPolicy",
            get_iam_policy,
            "projects.getIamPolicy",
            False,
        ),
        route(
            "POST",
            "/v3/projects/{project}:setIamPolicy",
            set_iam_policy,
            "projects.setIamPolicy",
            True,
        ),
        route(
            "POST",
            "/v3/projects/{project}:testIamPermissions",
            test_iam_permissions,
            "projects.testIamPermissions",
            False,
        ),
        route(
            "POST",
            "/v3/organizations/{organization}:testIamPermissions",
            test_parent_permissions,
            "organizations.testIamPermissions",
            False,
        ),
        route(
            "POST",
            "/v3/folders/{folder}:testIamPermissions",
            test_parent_permissions,
            "folders.testIamPermissions",
            False,
        ),
        route("GET", "/v3/operations/{operation=**}", get_operation, "operations.get", False),
    ]
