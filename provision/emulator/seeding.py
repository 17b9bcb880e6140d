"""Seed state directly (control plane `POST /_emulator/projects`): a ready-to-use project with
billing linked and services enabled, as if it had been set up long ago — no operations, no
propagation windows, service agents present with their roles.
"""

from __future__ import annotations

from typing import Any

from provision.emulator.billing import models as billing
from provision.emulator.core.world import BILLING, PROJECTS, World
from provision.emulator.resourcemanager import models as projects
from provision.emulator.serviceusage import catalogue
from provision.emulator.serviceusage import models as services


def seed_project(world: World, body: dict[str, Any]) -> dict[str, Any]:
    """Create the project `body["projectId"]` with optional `displayName`, `parent`, `labels`,
    `billingAccountName` and `services` (enabled with their dependencies); returns the
    Project resource."""
    project = projects.create_project(
        world,
        body.get("projectId"),  # type: ignore[arg-type]
        display_name=body.get("displayName"),
        parent=body.get("parent"),
        labels=body.get("labels"),
    )
    project["created"] = 0.0
    world.store.put(PROJECTS, project["projectId"], project)
    if body.get("billingAccountName"):
        billing.update_billing_info(
            world, project["projectId"], {"billingAccountName": body["billingAccountName"]}
        )
        info = world.store.get(BILLING, project["projectId"]) or {}
        info["linkedAt"] = 0.0
        world.store.put(BILLING, project["projectId"], info)
    wanted = body.get("services") or []
    if not isinstance(wanted, list):
        raise ValueError("services must be a list of service names")
    services.require_known(world, wanted)
    services.activate(world, project, catalogue.with_dependencies(wanted), settled=True)
    return projects.render(project)
