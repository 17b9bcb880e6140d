"""Test helpers: projects made by the emulator's own Resource Manager, Service Usage and Billing
code (`provision.emulator.seeding`), and discovery clients pointed at the emulator."""

from __future__ import annotations

import urllib.request

import httplib2
from googleapiclient.discovery import Resource, build

from provision.emulator import seeding
from provision.emulator.core.world import World
from provision.emulator.server import RunningEmulator

BILLING_ACCOUNT = "billingAccounts/012345-6789AB-CDEF01"


def seed_project(
    world: World,
    project_id: str = "hc-test",
    *,
    services: tuple[str, ...] = ("healthcare.googleapis.com",),
) -> str:
    """A billed project with `services` enabled (agents created and granted); returns its
    number."""
    project = seeding.seed_project(
        world,
        {
            "projectId": project_id,
            "billingAccountName": BILLING_ACCOUNT,
            "services": list(services),
        },
    )
    return str(project["name"]).removeprefix("projects/")


def client(emulator: RunningEmulator, api: str, version: str, path: str = "") -> Resource:
    return build(
        api,
        version,
        static_discovery=True,
        client_options={"api_endpoint": emulator.base_url + path},
        http=httplib2.Http(),
    )


def healthcare_client(emulator: RunningEmulator) -> Resource:
    return client(emulator, "healthcare", "v1")


def storage_client(emulator: RunningEmulator) -> Resource:
    return client(emulator, "storage", "v1", "/storage/v1/")


def serviceusage_client(emulator: RunningEmulator) -> Resource:
    return client(emulator, "serviceusage", "v1")


def stow(emulator: RunningEmulator, store: str, payloads: list[bytes]) -> None:
    """Store each DICOM file in `store` (a full DICOM store name) with a STOW-RS request."""
    for payload in payloads:
        request = urllib.request.Request(
            f"{emulator.base_url}/v1/{store}/dicomWeb/studies",
            data=payload,
            method="POST",
            headers={"Content-Type": "application/dicom", "Accept": "application/dicom+json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200, response.read()
