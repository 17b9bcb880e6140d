"""Symbolic members: a service agent's e-mail needs the project NUMBER, known only once the
project exists. Planned with the symbol, resolved by apply right after the project is created."""

from __future__ import annotations

from typing import Any

from provision.apply import apply_plan
from provision.emulator.server import RunningEmulator
from provision.gcp.api import GoogleApi
from provision.gcp.credentials import Target
from provision.gcp.settings import FAST_TIMING
from provision.model import Action, Resource
from provision.plan import plan_resources
from provision.resources import addresses
from provision.resources.base import Context
from provision.resources.symbols import project_number_ref
from tests.e2e.conftest import BILLING, control

PID = "agent-imaging"
AGENT = (
    f"serviceAccount:service-{project_number_ref(PID)}@gcp-sa-healthcare.iam.gserviceaccount.com"
)


def resources() -> list[Resource]:
    project = addresses.project(PID)
    billing = addresses.billing(PID)
    services = addresses.services(PID)
    return [
        Resource(project, {"projectId": PID, "labels": {}, "create": True}),
        Resource(billing, {"projectId": PID, "billingAccountName": BILLING}, (project,)),
        Resource(
            services,
            {"projectId": PID, "services": ["healthcare.googleapis.com"]},
            (project, billing),
        ),
        Resource(
            addresses.project_iam(PID),
            {"bindings": [{"role": "roles/storage.objectViewer", "members": [AGENT]}]},
            (project, services),
        ),
    ]


def test_agent_member_is_resolved_after_the_project_exists(emulator: RunningEmulator) -> None:
    control(emulator, "reset")
    api = GoogleApi(Target(endpoint=emulator.base_url), FAST_TIMING)

    first = plan_resources(
        resources(), Context.create(api), blueprint_path="-", blueprint_digest=""
    )
    iam = first.changes[-1]
    assert iam.action is Action.CREATE
    assert project_number_ref(PID) in str(iam.after)  # unknown until apply

    report = apply_plan(first, Context.create(api))
    assert report.ok, report.summary()

    second = plan_resources(
        resources(), Context.create(api), blueprint_path="-", blueprint_digest=""
    )
    assert not second.has_changes
    number = api.call("cloudresourcemanager.projects.get", name=f"projects/{PID}")["name"]
    policy: dict[str, Any] = api.call(
        "cloudresourcemanager.projects.getIamPolicy", resource=f"projects/{PID}", body={}
    )
    agent = (
        f"serviceAccount:service-{number.split('/')[1]}@gcp-sa-healthcare.iam.gserviceaccount.com"
    )
    granted = [
        m
        for b in policy["bindings"]
        if b["role"] == "roles/storage.objectViewer"
        for m in b["members"]
    ]
    assert granted == [agent]
    assert agent in str(second.changes[-1].after)  # resolved at plan time now
