"""Cloud Resource Manager v3 against the real GAPIC (REST) and discovery clients."""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud import resourcemanager_v3
from google.iam.v1 import iam_policy_pb2, policy_pb2
from googleapiclient.errors import HttpError

from provision.emulator.server import RunningEmulator
from tests.conftest import journal
from tests.emulator.clients import (
    control,
    discovery_client,
    error_body,
    projects_client,
    seed_project,
)

CONCURRENT = (
    "There were concurrent policy changes. Please retry the whole read-modify-write with "
    "exponential backoff."
)


def test_create_project_operation_and_numeric_enums(emulator: RunningEmulator) -> None:
    client = projects_client(emulator)
    operation = client.create_project(
        project=resourcemanager_v3.Project(
            project_id="imaging-dev-1", display_name="Imaging dev", labels={"team": "rad"}
        )
    )
    project = operation.result(timeout=10)  # type: ignore[no-untyped-call]
    assert re.fullmatch(r"projects/\d{12}", project.name)
    assert project.state == resourcemanager_v3.Project.State.ACTIVE
    assert re.fullmatch(r'W/"[0-9a-f]{16}"', project.etag)
    assert project.labels["team"] == "rad"

    entries = journal(emulator)
    create = entries[0]
    assert (create["method"], create["path"]) == ("POST", "/v3/projects")
    assert "enum-encoding%3Dint" in create["query"]
    assert operation.operation.name.startswith("operations/cp.")
    assert operation.operation.name.removeprefix("operations/cp.").isdigit()

    fetched = client.get_project(name="projects/imaging-dev-1")
    assert fetched.name == project.name
    by_number = client.get_project(name=project.name)
    assert by_number.project_id == "imaging-dev-1"


def test_create_answers_only_the_operation_name_then_a_typed_operation(
    emulator: RunningEmulator,
) -> None:
    crm = discovery_client(emulator, "cloudresourcemanager", "v3")
    started = crm.projects().create(body={"projectId": "raw-shape-1"}).execute()
    assert list(started) == ["name"]
    done = crm.operations().get(name=started["name"]).execute()
    assert set(done) == {"name", "metadata", "done", "response"}
    assert done["metadata"] == {
        "@type": "type.googleapis.com/google.cloud.resourcemanager.v3.CreateProjectMetadata",
        "createTime": done["metadata"]["createTime"],
        "gettable": True,
        "ready": True,
    }
    assert (
        done["response"]["@type"] == "type.googleapis.com/google.cloud.resourcemanager.v3.Project"
    )
    assert done["response"]["state"] == "ACTIVE"
    assert "parent" not in done["response"]
    raw = crm.projects().get(name="projects/raw-shape-1").execute()
    assert raw["state"] == "ACTIVE"


def test_missing_project_is_403_not_404(emulator: RunningEmulator) -> None:
    client = projects_client(emulator)
    with pytest.raises(exceptions.Forbidden) as raised:
        client.get_project(name="projects/no-such-project")
    assert raised.value.code == 403
    assert raised.value.message.endswith(
        ": Permission 'resourcemanager.projects.get' denied on resource "
        "'//cloudresourcemanager.googleapis.com/projects/no-such-project' (or it may not exist)."
    )
    assert raised.value.reason == "IAM_PERMISSION_DENIED"


def test_duplicate_and_invalid_ids(emulator: RunningEmulator) -> None:
    crm = discovery_client(emulator, "cloudresourcemanager", "v3")
    crm.projects().create(body={"projectId": "taken-id-1"}).execute()
    with pytest.raises(HttpError) as duplicate:
        crm.projects().create(body={"projectId": "taken-id-1"}).execute()
    assert duplicate.value.status_code == 409
    assert error_body(duplicate.value) == {
        "error": {
            "code": 409,
            "message": "Requested entity already exists",
            "status": "ALREADY_EXISTS",
            "errors": [
                {
                    "message": "Requested entity already exists",
                    "domain": "global",
                    "reason": "alreadyExists",
                }
            ],
        }
    }
    bad: list[dict[str, Any]] = [
        {"projectId": "Upper-Case-1"},
        {"projectId": "short"},
        {"projectId": "ends-with-hyphen-"},
        {"projectId": "1starts-with-digit"},
        {"projectId": "x" * 31},
        {"projectId": "fine-id-1", "displayName": "no"},
        {"projectId": "fine-id-1", "displayName": "bad;chars"},
        {"projectId": "fine-id-1", "labels": {"Bad": "x"}},
        {"projectId": "fine-id-1", "labels": {"ok": "Bad"}},
        {"projectId": "fine-id-1", "parent": "orgs/1"},
    ]
    for body in bad:
        with pytest.raises(HttpError) as invalid:
            crm.projects().create(body=body).execute()
        assert invalid.value.status_code == 400, body
        assert error_body(invalid.value)["error"]["status"] == "INVALID_ARGUMENT"
        assert "field [" in error_body(invalid.value)["error"]["message"]


def test_search_and_list(emulator: RunningEmulator) -> None:
    crm = discovery_client(emulator, "cloudresourcemanager", "v3")
    for index in range(3):
        crm.projects().create(
            body={
                "projectId": f"site-{index}-imaging",
                "displayName": f"Site {index}",
                "parent": "folders/42" if index < 2 else "organizations/7",
                "labels": {"env": "prod" if index == 0 else "dev"},
            }
        ).execute()
    found = crm.projects().search(query="id:site-0*").execute()
    assert [p["projectId"] for p in found["projects"]] == ["site-0-imaging"]
    either = crm.projects().search(query="labels.env:prod parent:organizations/7").execute()
    assert sorted(p["projectId"] for p in either["projects"]) == [
        "site-0-imaging",
        "site-2-imaging",
    ]
    assert crm.projects().search(query="displayName:SITE*").execute()["projects"]
    first = crm.projects().list(parent="folders/42", pageSize=1).execute()
    assert len(first["projects"]) == 1
    second = (
        crm.projects()
        .list(parent="folders/42", pageSize=1, pageToken=first["nextPageToken"])
        .execute()
    )
    assert len(second["projects"]) == 1
    assert "nextPageToken" not in second
    with pytest.raises(HttpError) as no_parent:
        crm.projects().list().execute()
    assert no_parent.value.status_code == 400


def test_search_is_eventually_consistent_when_configured(emulator: RunningEmulator) -> None:
    control(emulator, "settings", {"project_search_lag_s": 3600})
    crm = discovery_client(emulator, "cloudresourcemanager", "v3")
    crm.projects().create(body={"projectId": "fresh-project"}).execute()
    assert crm.projects().search(query="id:fresh-project").execute() == {}
    assert crm.projects().get(name="projects/fresh-project").execute()["projectId"]


def test_delete_and_undelete(emulator: RunningEmulator) -> None:
    client = projects_client(emulator)
    seed_project(emulator, "doomed-project")
    deleted = client.delete_project(name="projects/doomed-project").result(timeout=10)  # type: ignore[no-untyped-call]
    assert deleted.state == resourcemanager_v3.Project.State.DELETE_REQUESTED
    assert client.get_project(name="projects/doomed-project").state == 2
    with pytest.raises(exceptions.Conflict):
        client.create_project(
            project=resourcemanager_v3.Project(project_id="doomed-project")
        ).result(timeout=10)  # type: ignore[no-untyped-call]
    restored = client.undelete_project(name="projects/doomed-project").result(timeout=10)  # type: ignore[no-untyped-call]
    assert restored.state == resourcemanager_v3.Project.State.ACTIVE


def _policy(client: resourcemanager_v3.ProjectsClient, project: str) -> policy_pb2.Policy:
    return client.get_iam_policy(request=iam_policy_pb2.GetIamPolicyRequest(resource=project))


def test_project_policy_read_modify_write(emulator: RunningEmulator) -> None:
    client = projects_client(emulator)
    seed_project(emulator, "policy-project")
    resource = "projects/policy-project"
    policy = _policy(client, resource)
    assert [(b.role, list(b.members)) for b in policy.bindings] == [
        ("roles/owner", ["user:owner@example.com"])
    ]
    policy.bindings.add(role="roles/viewer", members=["group:readers@example.com"])
    written = client.set_iam_policy(
        request=iam_policy_pb2.SetIamPolicyRequest(resource=resource, policy=policy)
    )
    assert written.etag != policy.etag
    assert _policy(client, resource).etag == written.etag

    with pytest.raises(exceptions.Conflict) as stale:
        client.set_iam_policy(
            request=iam_policy_pb2.SetIamPolicyRequest(resource=resource, policy=policy)
        )
    assert stale.value.message.endswith(": " + CONCURRENT)

    blind = policy_pb2.Policy()
    blind.bindings.add(role="roles/owner", members=["user:owner@example.com"])
    overwritten = client.set_iam_policy(
        request=iam_policy_pb2.SetIamPolicyRequest(resource=resource, policy=blind)
    )
    assert [b.role for b in overwritten.bindings] == ["roles/owner"]


def test_policy_rules_on_projects(emulator: RunningEmulator) -> None:
    crm = discovery_client(emulator, "cloudresourcemanager", "v3")
    seed_project(emulator, "rules-project")
    resource = "projects/rules-project"
    policy = crm.projects().getIamPolicy(resource=resource, body={}).execute()
    owner = policy["bindings"]

    v3 = (
        crm.projects()
        .setIamPolicy(
            resource=resource,
            body={"policy": {"version": 3, "bindings": [*owner, _viewer("user:a@example.com")]}},
        )
        .execute()
    )
    assert v3["version"] == 1

    with pytest.raises(HttpError) as public:
        crm.projects().setIamPolicy(
            resource=resource, body={"policy": {"bindings": [*owner, _viewer("allUsers")]}}
        ).execute()
    assert public.value.status_code == 400

    ghost = "ghost-sa@rules-project.iam.gserviceaccount.com"
    with pytest.raises(HttpError) as missing:
        crm.projects().setIamPolicy(
            resource=resource,
            body={"policy": {"bindings": [*owner, _viewer(f"serviceAccount:{ghost}")]}},
        ).execute()
    assert missing.value.status_code == 400
    body = error_body(missing.value)["error"]
    assert body["message"] == f"Service account {ghost} does not exist."
    assert body["status"] == "INVALID_ARGUMENT"
    assert body["errors"][0]["reason"] == "badRequest"

    with pytest.raises(HttpError) as invite:
        crm.projects().setIamPolicy(
            resource=resource,
            body={
                "policy": {
                    "bindings": [{"role": "roles/owner", "members": ["user:new@example.com"]}]
                }
            },
        ).execute()
    detail = error_body(invite.value)["error"]["details"][0]
    assert detail["type"] == "SOLO_MUST_INVITE_OWNERS"


def test_update_mask_and_audit_configs(emulator: RunningEmulator) -> None:
    crm = discovery_client(emulator, "cloudresourcemanager", "v3")
    seed_project(emulator, "audit-project")
    resource = "projects/audit-project"
    owner = crm.projects().getIamPolicy(resource=resource, body={}).execute()["bindings"]
    audit = [{"service": "allServices", "auditLogConfigs": [{"logType": "DATA_READ"}]}]
    crm.projects().setIamPolicy(
        resource=resource,
        body={"policy": {"bindings": owner, "auditConfigs": audit}, "updateMask": "auditConfigs"},
    ).execute()
    crm.projects().setIamPolicy(
        resource=resource,
        body={"policy": {"bindings": [*owner, _viewer("user:b@example.com")]}},
    ).execute()
    policy = crm.projects().getIamPolicy(resource=resource, body={}).execute()
    assert policy["auditConfigs"] == audit
    assert len(policy["bindings"]) == 2


def test_audit_log_types_sent_as_numbers_are_stored_by_name(emulator: RunningEmulator) -> None:
    """google-cloud-resource-manager sends and asks for enums as numbers (proto3 JSON); the
    discovery client sends and reads names. Either way the policy holds the same log types."""
    client = projects_client(emulator)
    crm = discovery_client(emulator, "cloudresourcemanager", "v3")
    seed_project(emulator, "audit-numbers")
    resource = "projects/audit-numbers"
    policy = client.get_iam_policy(request={"resource": resource})
    config = policy.audit_configs.add(service="healthcare.googleapis.com")
    config.audit_log_configs.add(log_type=policy_pb2.AuditLogConfig.DATA_READ)
    config.audit_log_configs.add(
        log_type=policy_pb2.AuditLogConfig.DATA_WRITE, exempted_members=["user:a@example.com"]
    )
    written = client.set_iam_policy(
        request={
            "resource": resource,
            "policy": policy,
            "update_mask": {"paths": ["bindings", "etag", "audit_configs"]},
        }
    )
    assert [c.log_type for c in written.audit_configs[0].audit_log_configs] == [3, 2]
    read = crm.projects().getIamPolicy(resource=resource, body={}).execute()
    assert read["auditConfigs"] == [
        {
            "service": "healthcare.googleapis.com",
            "auditLogConfigs": [
                {"logType": "DATA_READ"},
                {"logType": "DATA_WRITE", "exemptedMembers": ["user:a@example.com"]},
            ],
        }
    ]
    unspecified = [{"service": "allServices", "auditLogConfigs": [{"logType": 0}]}]
    with pytest.raises(HttpError) as refused:
        crm.projects().setIamPolicy(
            resource=resource,
            body={"policy": {**read, "auditConfigs": unspecified}, "updateMask": "auditConfigs"},
        ).execute()
    assert refused.value.resp.status == 400


def test_test_iam_permissions(emulator: RunningEmulator) -> None:
    client = projects_client(emulator)
    seed_project(emulator, "perm-project")
    asked = ["resourcemanager.projects.get", "resourcemanager.projects.setIamPolicy"]
    held = client.test_iam_permissions(resource="projects/perm-project", permissions=asked)
    assert list(held.permissions) == asked
    control(emulator, "settings", {"denied_permissions": ["resourcemanager.projects.setIamPolicy"]})
    held = client.test_iam_permissions(resource="projects/perm-project", permissions=asked)
    assert list(held.permissions) == ["resourcemanager.projects.get"]


def test_get_iam_policy_is_a_post_that_does_not_mutate(emulator: RunningEmulator) -> None:
    client = projects_client(emulator)
    seed_project(emulator, "journal-project")
    policy = _policy(client, "projects/journal-project")
    client.set_iam_policy(
        request=iam_policy_pb2.SetIamPolicyRequest(
            resource="projects/journal-project", policy=policy
        )
    )
    calls = [
        (entry["method"], entry["method_id"], entry["mutating"])
        for entry in journal(emulator)
        if entry["api"] == "cloudresourcemanager"
    ]
    assert calls == [
        ("POST", "projects.getIamPolicy", False),
        ("POST", "projects.setIamPolicy", True),
    ]


def _viewer(member: str) -> dict[str, Any]:
    return {"role": "roles/viewer", "members": [member]}


def test_numeric_enums_on_the_wire(emulator: RunningEmulator) -> None:
    seed_project(emulator, "wire-enums")
    base = f"{emulator.base_url}/v3/projects/wire-enums"
    with urllib.request.urlopen(base + "?%24alt=json%3Benum-encoding%3Dint") as answer:
        assert json.loads(answer.read())["state"] == 1
    with urllib.request.urlopen(base + "?alt=json") as answer:
        assert json.loads(answer.read())["state"] == "ACTIVE"
