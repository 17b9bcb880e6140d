"""Real Google clients pointed at the emulator (no patching: only the endpoint changes)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import httplib2
from google.auth.credentials import AnonymousCredentials
from google.cloud import resourcemanager_v3
from googleapiclient import discovery
from googleapiclient.errors import HttpError

from provision.emulator.server import RunningEmulator


def discovery_client(emulator: RunningEmulator, api: str, version: str) -> Any:
    """A google-api-python-client service built from the bundled discovery document."""
    return discovery.build(
        api,
        version,
        static_discovery=True,
        client_options={"api_endpoint": emulator.base_url + "/"},
        http=httplib2.Http(timeout=10),
    )


def projects_client(emulator: RunningEmulator) -> resourcemanager_v3.ProjectsClient:
    """The GAPIC Resource Manager client over REST; an `http://` endpoint keeps its scheme."""
    return resourcemanager_v3.ProjectsClient(
        transport="rest",
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": emulator.base_url},
    )


def error_body(error: HttpError) -> dict[str, Any]:
    """The decoded JSON error envelope of a discovery-client HttpError."""
    body: dict[str, Any] = json.loads(error.content)
    return body


def control(emulator: RunningEmulator, action: str, body: Any = None) -> Any:
    """Call the emulator's control plane (`/_emulator/<action>`)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{emulator.base_url}/_emulator/{action}",
        data=data,
        method="POST" if body is not None else "GET",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        raise AssertionError(f"control {action}: {error.code} {error.read()!r}") from None


def seed_project(
    emulator: RunningEmulator,
    project_id: str,
    *,
    billing: bool = False,
    services: list[str] | None = None,
) -> dict[str, Any]:
    """A ready project made through the control plane; returns the Project resource."""
    body: dict[str, Any] = {"projectId": project_id, "services": services or []}
    if billing:
        body["billingAccountName"] = BILLING_ACCOUNT
    project: dict[str, Any] = control(emulator, "projects", body)
    return project


BILLING_ACCOUNT = "billingAccounts/012345-6789AB-CDEF01"
