"""Cloud Billing v1 over HTTP: `/v1/projects/{project}/billingInfo`."""

from __future__ import annotations

from typing import Any

from provision.emulator.billing import models
from provision.emulator.core.routing import Ctx, Route
from provision.emulator.core.world import World

API = "cloudbilling"


def get_billing_info(ctx: Ctx) -> dict[str, Any]:
    return models.get_billing_info(ctx.world, ctx.params["project"])


def update_billing_info(ctx: Ctx) -> dict[str, Any]:
    return models.update_billing_info(ctx.world, ctx.params["project"], ctx.json())


def routes(world: World) -> list[Route]:
    del world
    path = "/v1/projects/{project}/billingInfo"
    return [
        Route("GET", path, get_billing_info, API, "projects.getBillingInfo", False),
        Route("PUT", path, update_billing_info, API, "projects.updateBillingInfo", True),
    ]
