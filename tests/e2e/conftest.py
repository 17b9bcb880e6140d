"""Fixtures for end-to-end tests: blueprints on disk and the CLI pointed at the emulator."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from google.auth.credentials import AnonymousCredentials
from googleapiclient import discovery
from googleapiclient.http import HttpRequest

from provision import saved_plan
from provision.blueprint.loader import LoadedBlueprint
from provision.emulator.server import RunningEmulator
from provision.gcp.api import SERVICE_PATHS, upload_uri
from provision.model import Plan, Resource
from provision.resources.base import Context

# Needs the emulator's Resource Manager, Service Usage and Billing APIs.
pytest.importorskip("provision.emulator.resourcemanager.routes")
from tests.e2e.cli import CliResult, run_cli

PROJECT = "e2e-imaging"
BILLING = "billingAccounts/000000-AAAAAA-000000"

BLUEPRINT = f"""\
version: 1
project:
  id: {PROJECT}
  displayName: E2E imaging
  billingAccount: {BILLING}
  labels:
    env: test
services:
  - healthcare.googleapis.com
  - storage.googleapis.com
iam:
  - role: roles/healthcare.dicomViewer
    members: [user:alice@example.com]
  - role: roles/viewer
    members: [group:radiology@example.com]
"""


@pytest.fixture
def blueprint(tmp_path: Path) -> Path:
    path = tmp_path / "blueprint.yaml"
    path.write_text(BLUEPRINT, encoding="utf-8")
    return path


CliFn = Callable[..., CliResult]


def control(emulator: RunningEmulator, action: str, body: Any = None) -> Any:
    """Call the emulator's control plane (`/_emulator/ACTION`) over HTTP."""
    data = json.dumps(body if body is not None else {}).encode()
    method = "GET" if action == "journal" else "POST"
    request = urllib.request.Request(
        f"{emulator.base_url}/_emulator/{action}",
        data=None if method == "GET" else data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


@pytest.fixture
def cli(emulator: RunningEmulator) -> CliFn:
    """`cli("plan", path, ...)` against the (freshly reset) emulator."""
    control(emulator, "reset")

    def invoke(*args: Any, **kwargs: Any) -> CliResult:
        env = {"PROVISION_ENDPOINT": emulator.base_url, **kwargs.pop("env", {})}
        return run_cli(*args, env=env, **kwargs)

    return invoke


@pytest.fixture
def google(emulator: RunningEmulator) -> Callable[[str, str], Any]:
    """The plain Google discovery client for an API, pointed at the emulator (out-of-band)."""

    def build(api: str, version: str) -> Any:
        endpoint = emulator.base_url + "/" + SERVICE_PATHS.get(api, "")
        return discovery.build(
            api,
            version,
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            static_discovery=True,
            client_options={"api_endpoint": endpoint},
            requestBuilder=uploads_to(emulator.base_url),
        )

    return build


def uploads_to(base_url: str) -> Callable[..., HttpRequest]:
    """A discovery `requestBuilder` that sends media uploads to `base_url` (googleapiclient
    keeps the discovery document's `https` scheme for them, see `provision.gcp.api.upload_uri`)."""

    def build_request(http: Any, postproc: Any, uri: str, **kwargs: Any) -> HttpRequest:
        if urlsplit(uri).path.startswith(("/upload/", "/resumable/upload/")):
            uri = upload_uri(uri, base_url)
        return HttpRequest(http, postproc, uri, **kwargs)

    return build_request


def journal(emulator: RunningEmulator) -> list[dict[str, Any]]:
    entries = control(emulator, "journal")
    assert isinstance(entries, list)
    return entries


LEASES = "provision-locks"
"""Requests to apply's single-writer lease objects name this (see tests/e2e/test_lease.py)."""


def mutations(emulator: RunningEmulator) -> list[dict[str, Any]]:
    """Mutating requests, apart from the writes of apply's lease object."""
    return [e for e in journal(emulator) if e["mutating"] and LEASES not in e["path"] + e["query"]]


def clear_journal(emulator: RunningEmulator) -> None:
    request = urllib.request.Request(f"{emulator.base_url}/_emulator/journal", method="DELETE")
    urllib.request.urlopen(request).close()


def set_faults(emulator: RunningEmulator, **settings: Any) -> None:
    control(emulator, "faults", settings)


def write_after_the_check(monkeypatch: pytest.MonkeyPatch, write: Callable[[], None]) -> None:
    """Make another writer run `write()` right after a saved plan's check (its re-plan) and
    before apply's own writes: the race a check cannot see."""
    recheck = saved_plan.replanned

    def recheck_then_another_writer(
        saved: Plan,
        loaded: LoadedBlueprint,
        ctx: Context,
        resources: Sequence[Resource] | None = None,
    ) -> Plan:
        fresh = recheck(saved, loaded, ctx, resources)
        write()
        return fresh

    monkeypatch.setattr(saved_plan, "replanned", recheck_then_another_writer)
