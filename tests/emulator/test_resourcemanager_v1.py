"""Cloud Resource Manager v1 (what gcloud and Terraform call) through googleapiclient's v1
discovery client, on the same projects as v3. Shapes as recorded against Google
(golden resourcemanager__project.http.log, basic__resourcemanager__project__projectinorg)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from provision.emulator.server import RunningEmulator
from tests.conftest import journal
from tests.emulator.clients import discovery_client, error_body, seed_project


@pytest.fixture
def v1(emulator: RunningEmulator) -> Any:
    return discovery_client(emulator, "cloudresourcemanager", "v1")


@pytest.fixture
def v3(emulator: RunningEmulator) -> Any:
    return discovery_client(emulator, "cloudresourcemanager", "v3")


def wait(v1: Any, operation: dict[str, Any]) -> dict[str, Any]:
    for _ in range(10):
        polled: dict[str, Any] = v1.operations().get(name=operation["name"]).execute()
        if polled.get("done"):
            return polled
    raise AssertionError(f"{operation['name']} never finished")


def test_v1_create_is_an_operation_whose_response_is_a_v1_project(
    emulator: RunningEmulator, v1: Any, v3: Any
) -> None:
    body = {
        "projectId": "v1-made-1",
        "name": "Made by v1",
        "parent": {"type": "organization", "id": "123456789"},
        "labels": {"managed-by": "provision"},
    }
    operation = v1.projects().create(body=body).execute()
    assert list(operation) == ["name"]
    assert re.fullmatch(r"operations/cp\.\d+", operation["name"])
    done = wait(v1, operation)
    assert done["metadata"]["@type"] == (
        "type.googleapis.com/google.cloudresourcemanager.v1.ProjectCreationStatus"
    )
    assert (done["metadata"]["gettable"], done["metadata"]["ready"]) == (True, True)
    project = done["response"]
    assert project.pop("@type") == "type.googleapis.com/google.cloudresourcemanager.v1.Project"
    assert re.fullmatch(r"\d{12}", project["projectNumber"])
    assert project == {
        "projectNumber": project["projectNumber"],
        "projectId": "v1-made-1",
        "lifecycleState": "ACTIVE",
        "name": "Made by v1",
        "labels": {"managed-by": "provision"},
        "createTime": project["createTime"],
        "parent": {"type": "organization", "id": "123456789"},
    }
    assert v1.projects().get(projectId="v1-made-1").execute() == project
    seen = v3.projects().get(name="projects/v1-made-1").execute()
    assert seen["name"] == f"projects/{project['projectNumber']}"
    assert (seen["displayName"], seen["parent"], seen["state"]) == (
        "Made by v1",
        "organizations/123456789",
        "ACTIVE",
    )
    assert [e["path"] for e in journal(emulator)][:2] == [
        "/v1/projects",
        f"/v1/{operation['name']}",
    ]
    with pytest.raises(HttpError) as again:
        v1.projects().create(body=body).execute()
    assert again.value.resp.status == 409


def test_a_v3_project_is_seen_through_v1(emulator: RunningEmulator, v1: Any) -> None:
    made = seed_project(emulator, "v3-made-1")
    number = made["name"].removeprefix("projects/")
    got = v1.projects().get(projectId="v3-made-1").execute()
    assert (got["projectNumber"], got["projectId"], got["lifecycleState"]) == (
        number,
        "v3-made-1",
        "ACTIVE",
    )
    assert "parent" not in got and "state" not in got and "etag" not in got
    assert v1.projects().get(projectId=number).execute() == got


def test_an_unknown_project_is_403_without_details(v1: Any) -> None:
    with pytest.raises(HttpError) as refused:
        v1.projects().get(projectId="no-such-project").execute()
    assert refused.value.resp.status == 403
    assert error_body(refused.value) == {
        "error": {
            "code": 403,
            "message": "The caller does not have permission",
            "status": "PERMISSION_DENIED",
        }
    }


def test_v1_list_filters_with_every_term(emulator: RunningEmulator, v1: Any) -> None:
    for project_id, env in (("list-dev-1", "dev"), ("list-prod-1", "prod"), ("other-dev-1", "dev")):
        v1.projects().create(
            body={"projectId": project_id, "name": project_id, "labels": {"env": env}}
        ).execute()
    everything = v1.projects().list().execute()["projects"]
    assert {p["projectId"] for p in everything} == {"list-dev-1", "list-prod-1", "other-dev-1"}
    dev = v1.projects().list(filter="labels.env:dev name:list*").execute()["projects"]
    assert [p["projectId"] for p in dev] == ["list-dev-1"]
    assert v1.projects().list(filter="id:list-prod-1 lifecycleState:ACTIVE").execute()["projects"][
        0
    ]["labels"] == {"env": "prod"}
    assert v1.projects().list(filter="NAME:nothing*").execute() == {}
    first = v1.projects().list(pageSize=2).execute()
    rest = v1.projects().list(pageSize=2, pageToken=first["nextPageToken"]).execute()
    assert len(first["projects"]) + len(rest["projects"]) == 3 and "nextPageToken" not in rest


def test_v1_project_iam_policy_round_trips(emulator: RunningEmulator, v1: Any, v3: Any) -> None:
    seed_project(emulator, "v1-iam-1")
    policy = v1.projects().getIamPolicy(resource="v1-iam-1", body={}).execute()
    assert policy["etag"] and policy["version"] == 1
    policy["bindings"].append({"role": "roles/viewer", "members": ["group:g@example.com"]})
    written = v1.projects().setIamPolicy(resource="v1-iam-1", body={"policy": policy}).execute()
    assert {"role": "roles/viewer", "members": ["group:g@example.com"]} in written["bindings"]
    assert v3.projects().getIamPolicy(resource="projects/v1-iam-1", body={}).execute() == written
    with pytest.raises(HttpError) as stale:
        v1.projects().setIamPolicy(resource="v1-iam-1", body={"policy": policy}).execute()
    assert stale.value.resp.status == 409
    with pytest.raises(HttpError) as missing:
        v1.projects().getIamPolicy(resource="no-such-project", body={}).execute()
    assert json.loads(missing.value.content)["error"]["message"] == (
        "The caller does not have permission"
    )


def test_service_usage_operations_are_still_its_own(emulator: RunningEmulator) -> None:
    """Both APIs poll `GET /v1/operations/NAME` here; a Service Usage name is not taken for a
    Resource Manager one."""
    seed_project(emulator, "ops-shared-1", billing=True)
    usage = discovery_client(emulator, "serviceusage", "v1")
    operation = (
        usage.services()
        .enable(name="projects/ops-shared-1/services/healthcare.googleapis.com", body={})
        .execute()
    )
    assert operation["name"].startswith("operations/acf.")
    usage.operations().get(name=operation["name"]).execute()
    assert (journal(emulator)[-1]["api"], journal(emulator)[-1]["status"]) == ("serviceusage", 200)
