"""IAM v1 over HTTP: service accounts (`/v1/projects/{project}/serviceAccounts[/{account}]`)
and project-level custom roles (`/v1/projects/{project}/roles[/{role}]`)."""

from __future__ import annotations

from typing import Any

from provision.emulator.core.errors import invalid_argument
from provision.emulator.core.paging import page_size, paginate
from provision.emulator.core.routing import Ctx, Route
from provision.emulator.iam import models, roles

API = "iam"


def create(ctx: Ctx) -> dict[str, Any]:
    return models.create(ctx.world, ctx.params["project"], ctx.json())


def get(ctx: Ctx) -> dict[str, Any]:
    return models.get(ctx.world, ctx.params["project"], ctx.params["account"])


def list_accounts(ctx: Ctx) -> dict[str, Any]:
    accounts = models.list_accounts(ctx.world, ctx.params["project"])
    size = page_size(ctx.query.get("pageSize"), default=20, maximum=100)
    chunk, token = paginate(
        accounts,
        size=size,
        token=ctx.query.get("pageToken"),
        scope=f"serviceAccounts|{ctx.params['project']}",
    )
    body: dict[str, Any] = {}
    if chunk:
        body["accounts"] = chunk
    if token:
        body["nextPageToken"] = token
    return body


def patch(ctx: Ctx) -> dict[str, Any]:
    return models.patch(ctx.world, ctx.params["project"], ctx.params["account"], ctx.json())


def delete(ctx: Ctx) -> dict[str, Any]:
    models.delete(ctx.world, ctx.params["project"], ctx.params["account"])
    return {}


def disable(ctx: Ctx) -> dict[str, Any]:
    models.set_disabled(ctx.world, ctx.params["project"], ctx.params["account"], True)
    return {}


def enable(ctx: Ctx) -> dict[str, Any]:
    models.set_disabled(ctx.world, ctx.params["project"], ctx.params["account"], False)
    return {}


def get_iam_policy(ctx: Ctx) -> dict[str, Any]:
    options = ctx.json().get("options") or {}
    try:
        version = int(options.get("requestedPolicyVersion") or 0)
    except (TypeError, ValueError):
        raise invalid_argument("Invalid requested policy version.") from None
    return models.get_policy(ctx.world, ctx.params["project"], ctx.params["account"], version)


def set_iam_policy(ctx: Ctx) -> dict[str, Any]:
    return models.set_policy(ctx.world, ctx.params["project"], ctx.params["account"], ctx.json())


def create_role(ctx: Ctx) -> dict[str, Any]:
    return roles.create(ctx.world, f"projects/{ctx.params['project']}", ctx.json())


def _role_name(ctx: Ctx) -> str:
    return f"projects/{ctx.params['project']}/roles/{ctx.params['role']}"


def get_role(ctx: Ctx) -> dict[str, Any]:
    return roles.get(ctx.world, _role_name(ctx))


def list_roles(ctx: Ctx) -> dict[str, Any]:
    found = roles.list_roles(
        ctx.world,
        f"projects/{ctx.params['project']}",
        show_deleted=ctx.query.get("showDeleted") == "true",
        full=ctx.query.get("view") == "FULL",
    )
    size = page_size(ctx.query.get("pageSize"), default=300, maximum=1000)
    chunk, token = paginate(
        found, size=size, token=ctx.query.get("pageToken"), scope=f"roles|{ctx.params['project']}"
    )
    body: dict[str, Any] = {}
    if chunk:
        body["roles"] = chunk
    if token:
        body["nextPageToken"] = token
    return body


def patch_role(ctx: Ctx) -> dict[str, Any]:
    return roles.patch(ctx.world, _role_name(ctx), ctx.json(), ctx.query.get("updateMask"))


def delete_role(ctx: Ctx) -> dict[str, Any]:
    return roles.delete(ctx.world, _role_name(ctx), ctx.query.get("etag"))


def undelete_role(ctx: Ctx) -> dict[str, Any]:
    return roles.undelete(ctx.world, _role_name(ctx), ctx.json())


def role_routes() -> list[Route]:
    collection = "/v1/projects/{project}/roles"
    one = collection + "/{role}"

    def route(method: str, template: str, handler: Any, name: str, mutating: bool) -> Route:
        return Route(method, template, handler, API, "projects.roles." + name, mutating)

    return [
        route("POST", collection, create_role, "create", True),
        route("GET", collection, list_roles, "list", False),
        route("GET", one, get_role, "get", False),
        route("PATCH", one, patch_role, "patch", True),
        route("DELETE", one, delete_role, "delete", True),
        route("POST", one + ":undelete", undelete_role, "undelete", True),
    ]


def routes() -> list[Route]:
    accounts = "/v1/projects/{project}/serviceAccounts"
    account = accounts + "/{account}"
    prefix = "projects.serviceAccounts."

    def route(method: str, template: str, handler: Any, name: str, mutating: bool) -> Route:
        return Route(method, template, handler, API, prefix + name, mutating)

    return [
        route("POST", accounts, create, "create", True),
        route("GET", accounts, list_accounts, "list", False),
        route("GET", account, get, "get", False),
        route("PATCH", account, patch, "patch", True),
        route("DELETE", account, delete, "delete", True),
        route("POST", account + ":disable", disable, "disable", True),
        route("POST", account + ":enable", enable, "enable", True),
        route("POST", account + ":getIamPolicy", get_iam_policy, "getIamPolicy", False),
        route("POST", account + ":setIamPolicy", set_iam_policy, "setIamPolicy", True),
        *role_routes(),
    ]
