"""Seed the emulator's shared state exactly as Resource Manager and Service Usage store it:
a project (`projects` keyed by ID, `name: projects/NUMBER`) and enabled services (`services`
keyed `{number}/{service}`), with the Healthcare service agent created on enablement.
"""

from __future__ import annotations

import httplib2
from googleapiclient.discovery import Resource, build

from provision.emulator.core.world import PROJECTS, SERVICES, World
from provision.emulator.server import RunningEmulator


def seed_project(
    world: World,
    project_id: str = "hc-test",
    number: str = "123456789012",
    *,
    services: tuple[str, ...] = ("healthcare.googleapis.com",),
) -> dict[str, str]:
    project = {
        "projectId": project_id,
        "number": number,
        "name": f"projects/{number}",
        "state": "ACTIVE",
        "createTime": world.now_rfc3339(),
    }
    world.store.put(PROJECTS, project_id, project)
    for service in services:
        enable(world, number, service)
    return project


def enable(world: World, number: str, service: str) -> None:
    world.store.put(SERVICES, f"{number}/{service}", {"state": "ENABLED", "enabledAt": world.now()})
    world.create_service_agent(number, service, delay=world.settings.service_agent_delay_s)


def healthcare_client(emulator: RunningEmulator) -> Resource:
    return build(
        "healthcare",
        "v1",
        static_discovery=True,
        client_options={"api_endpoint": emulator.base_url},
        http=httplib2.Http(),
    )


def storage_client(emulator: RunningEmulator) -> Resource:
    return build(
        "storage",
        "v1",
        static_discovery=True,
        client_options={"api_endpoint": f"{emulator.base_url}/storage/v1/"},
        http=httplib2.Http(),
    )
