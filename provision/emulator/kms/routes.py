"""Cloud KMS v1 over HTTP: key rings (create, get, list, IAM), crypto keys (create, get, list,
patch, IAM) and their versions (get, list, destroy), under
`/v1/projects/{project}/locations/{location}/keyRings/...`.

Every call first requires `cloudkms.googleapis.com` enabled on the project (403
SERVICE_DISABLED, or 403 "(or it may not exist)" for an unknown project). Names in answers use
the project ID.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from provision.emulator.core import iam, paging
from provision.emulator.core.errors import ApiError
from provision.emulator.core.routing import Ctx, Route
from provision.emulator.kms import models
from provision.emulator.kms.models import SERVICE

LOCATION = "/v1/projects/{project}/locations/{location}"
RINGS = f"{LOCATION}/keyRings"
RING = f"{RINGS}/{{ring}}"
KEYS = f"{RING}/cryptoKeys"
KEY = f"{KEYS}/{{key}}"
VERSIONS = f"{KEY}/cryptoKeyVersions"
VERSION = f"{VERSIONS}/{{version}}"
PREFIX = "projects.locations.keyRings"


def _location(ctx: Ctx) -> str:
    project = ctx.world.require_service(ctx.params["project"], SERVICE, domain=SERVICE)
    models.check_location(ctx.params["location"])
    return f"projects/{project['projectId']}/locations/{ctx.params['location']}"


def _ring(ctx: Ctx) -> dict[str, Any]:
    return models.require_ring(ctx.world, f"{_location(ctx)}/keyRings/{ctx.params['ring']}")


def _key(ctx: Ctx) -> dict[str, Any]:
    return models.require_key(ctx.world, f"{_ring(ctx)['name']}/cryptoKeys/{ctx.params['key']}")


def _listing(ctx: Ctx, key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """One page; `totalSize` counts every item (an int32, so a JSON number; zero is left out)."""
    if ctx.query.get("filter"):
        raise ApiError("UNIMPLEMENTED", "List filters are not emulated.", http=501)
    size = paging.page_size(ctx.query.get("pageSize"), default=1000, maximum=1000)
    page, token = paging.paginate(
        items, size=size, token=ctx.query.get("pageToken"), scope=ctx.request.path
    )
    answer: dict[str, Any] = {}
    if page:
        answer[key] = page
    if token:
        answer["nextPageToken"] = token
    if items:
        answer["totalSize"] = len(items)
    return answer


# ----- key rings


def create_ring(ctx: Ctx) -> dict[str, Any]:
    ring_id = models.check_id(ctx.query.get("keyRingId"), "keyRingId")
    return models.create_ring(ctx.world, f"{_location(ctx)}/keyRings/{ring_id}")


def get_ring(ctx: Ctx) -> dict[str, Any]:
    return _ring(ctx)


def list_rings(ctx: Ctx) -> dict[str, Any]:
    return _listing(ctx, "keyRings", models.list_rings(ctx.world, _location(ctx)))


# ----- crypto keys


def create_key(ctx: Ctx) -> dict[str, Any]:
    ring = _ring(ctx)
    key_id = models.check_id(ctx.query.get("cryptoKeyId"), "cryptoKeyId")
    skip = ctx.query.get("skipInitialVersionCreation", "false").lower() == "true"
    key = models.create_key(ctx.world, ring, key_id, ctx.json(), skip_version=skip)
    return models.render_key(key, numeric=ctx.numeric_enums)


def get_key(ctx: Ctx) -> dict[str, Any]:
    return models.render_key(_key(ctx), numeric=ctx.numeric_enums)


def list_keys(ctx: Ctx) -> dict[str, Any]:
    keys = models.list_keys(ctx.world, _ring(ctx)["name"])
    rendered = [models.render_key(k, numeric=ctx.numeric_enums) for k in keys]
    return _listing(ctx, "cryptoKeys", rendered)


def patch_key(ctx: Ctx) -> dict[str, Any]:
    key = models.patch_key(ctx.world, _key(ctx), ctx.json(), ctx.query.get("updateMask"))
    return models.render_key(key, numeric=ctx.numeric_enums)


# ----- versions


def _version(ctx: Ctx) -> tuple[dict[str, Any], dict[str, Any]]:
    key = _key(ctx)
    name = f"{key['name']}/cryptoKeyVersions/{ctx.params['version']}"
    return key, models.require_version(ctx.world, name)


def get_version(ctx: Ctx) -> dict[str, Any]:
    return models.render_version(_version(ctx)[1], numeric=ctx.numeric_enums)


def list_versions(ctx: Ctx) -> dict[str, Any]:
    versions = models.list_versions(ctx.world, _key(ctx)["name"])
    rendered = [models.render_version(v, numeric=ctx.numeric_enums) for v in versions]
    return _listing(ctx, "cryptoKeyVersions", rendered)


def destroy_version(ctx: Ctx) -> dict[str, Any]:
    key, version = _version(ctx)
    destroyed = models.destroy_version(ctx.world, key, version)
    return models.render_version(destroyed, numeric=ctx.numeric_enums)


# ----- IAM of rings and keys


def _iam_handlers(lookup: Callable[[Ctx], dict[str, Any]]) -> list[Callable[[Ctx], Any]]:
    """getIamPolicy, setIamPolicy and testIamPermissions of the resource `lookup` finds."""

    def get_policy(ctx: Ctx) -> dict[str, Any]:
        version = iam.requested_version(ctx.query.get("options.requestedPolicyVersion"))
        return iam.get_policy(ctx.world, lookup(ctx)["name"], version)

    def set_policy(ctx: Ctx) -> dict[str, Any]:
        return iam.set_policy_request(ctx.world, lookup(ctx)["name"], ctx.json(), iam.KMS)

    def test_permissions(ctx: Ctx) -> dict[str, Any]:
        lookup(ctx)
        return iam.tested_permissions(ctx.world, ctx.json())

    return [get_policy, set_policy, test_permissions]


def routes() -> list[Route]:

    def route(method: str, template: str, handler: Callable[[Ctx], Any], method_id: str) -> Route:
        mutating = method != "GET" and not method_id.endswith("testIamPermissions")
        return Route(method, template, handler, "cloudkms", f"{PREFIX}.{method_id}", mutating)

    def iam_routes(template: str, lookup: Callable[[Ctx], Any], kind: str) -> list[Route]:
        get_policy, set_policy, test_permissions = _iam_handlers(lookup)
        return [
            route("GET", f"{template}:getIamPolicy", get_policy, f"{kind}getIamPolicy"),
            route("POST", f"{template}:setIamPolicy", set_policy, f"{kind}setIamPolicy"),
            route(
                "POST",
                f"{template}:testIamPermissions",
                test_permissions,
                f"{kind}testIamPermissions",
            ),
        ]

    return [
        route("POST", RINGS, create_ring, "create"),
        route("GET", RINGS, list_rings, "list"),
        route("GET", RING, get_ring, "get"),
        *iam_routes(RING, _ring, ""),
        route("POST", KEYS, create_key, "cryptoKeys.create"),
        route("GET", KEYS, list_keys, "cryptoKeys.list"),
        route("GET", KEY, get_key, "cryptoKeys.get"),
        route("PATCH", KEY, patch_key, "cryptoKeys.patch"),
        *iam_routes(KEY, _key, "cryptoKeys."),
        route("GET", VERSIONS, list_versions, "cryptoKeys.cryptoKeyVersions.list"),
        route("GET", VERSION, get_version, "cryptoKeys.cryptoKeyVersions.get"),
        route(
            "POST", f"{VERSION}:destroy", destroy_version, "cryptoKeys.cryptoKeyVersions.destroy"
        ),
    ]
