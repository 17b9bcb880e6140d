"""Service Usage v1 (and v1beta1 `generateServiceIdentity`) over HTTP."""

from __future__ import annotations

from typing import Any

from provision.emulator.core.paging import page_size, paginate
from provision.emulator.core.routing import Ctx, Route
from provision.emulator.serviceusage import models

API = "serviceusage"


def get_service(ctx: Ctx) -> dict[str, Any]:
    return models.get_service(ctx.world, ctx.params["project"], ctx.params["service"])


def list_services(ctx: Ctx) -> dict[str, Any]:
    state = models.parse_filter(ctx.query.get("filter"))
    services = models.list_services(ctx.world, ctx.params["project"], state)
    size = page_size(ctx.query.get("pageSize"), default=50, maximum=200)
    scope = f"services|{ctx.params['project']}|{state}"
    chunk, token = paginate(services, size=size, token=ctx.query.get("pageToken"), scope=scope)
    body: dict[str, Any] = {}
    if chunk:
        body["services"] = chunk
    if token:
        body["nextPageToken"] = token
    return body


def batch_get(ctx: Ctx) -> dict[str, Any]:
    return models.batch_get(ctx.world, ctx.params["project"], ctx.query.getlist("names"))


def enable(ctx: Ctx) -> dict[str, Any]:
    ctx.json()
    return models.enable(ctx.world, ctx.params["project"], ctx.params["service"])


def batch_enable(ctx: Ctx) -> dict[str, Any]:
    body = ctx.json()
    return models.batch_enable(ctx.world, ctx.params["project"], body.get("serviceIds"))


def disable(ctx: Ctx) -> dict[str, Any]:
    return models.disable(ctx.world, ctx.params["project"], ctx.params["service"], ctx.json())


def generate_service_identity(ctx: Ctx) -> dict[str, Any]:
    return models.generate_service_identity(ctx.world, ctx.params["project"], ctx.params["service"])


def get_operation(ctx: Ctx) -> dict[str, Any]:
    return models.get_operation(ctx.world, "operations/" + ctx.params["operation"])


def routes() -> list[Route]:
    services = "/v1/projects/{project}/services"

    def route(method: str, template: str, handler: Any, method_id: str, mutating: bool) -> Route:
        return Route(method, template, handler, API, method_id, mutating)

    return [
        route("GET", services, list_services, "services.list", False),
        route("GET", services + ":batchGet", batch_get, "services.batchGet", False),
        route("POST", services + ":batchEnable", batch_enable, "services.batchEnable", True),
        route("GET", services + "/{service}", get_service, "services.get", False),
        route("POST", services + "/{service}:enable", enable, "services.enable", True),
        route("POST", services + "/{service}:disable", disable, "services.disable", True),
        route("GET", "/v1/operations/{operation}", get_operation, "operations.get", False),
        route(
            "POST",
            "/v1beta1/projects/{project}/services/{service}:generateServiceIdentity",
            generate_service_identity,
            "services.generateServiceIdentity",
            True,
        ),
        route("GET", "/v1beta1/operations/{operation}", get_operation, "operations.get", False),
    ]
