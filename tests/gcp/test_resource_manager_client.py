"""Resource Manager calls through google-cloud-resource-manager's REST client, against the
emulator over real HTTP: the requests discovery declares, the REST JSON answers, the same
classified errors, no retries of the client's own, and what every call gets (pacing, counting,
the debug trace, recording, cancel)."""

from __future__ import annotations

import json
import logging
import re
import socket
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from provision.emulator.server import RunningEmulator
from provision.errors import GoogleApiError, RunInterruptedError
from provision.gcp.api import GoogleApi
from provision.gcp.credentials import Target
from provision.gcp.retry import Verdict, classify
from provision.gcp.settings import FAST_TIMING, RetryPolicy
from tests.e2e.conftest import clear_journal, control, journal, set_faults

PID = "crm-client-test"


@pytest.fixture
def api(emulator: RunningEmulator) -> GoogleApi:
    control(emulator, "reset")
    return GoogleApi(Target(endpoint=emulator.base_url), FAST_TIMING)


def create_project(api: GoogleApi) -> dict[str, Any]:
    operation = api.call("cloudresourcemanager.projects.create", body={"projectId": PID})
    return api.wait(operation, api="cloudresourcemanager", what="creating project")


def discovery_methods() -> dict[str, dict[str, Any]]:
    import googleapiclient

    path = Path(googleapiclient.__file__).parent / "discovery_cache/documents"
    document = json.loads((path / "cloudresourcemanager.v3.json").read_text(encoding="utf-8"))
    found = {}
    for resource in document["resources"].values():
        for method in resource.get("methods", {}).values():
            found[method["id"]] = method
    return found


def path_pattern(flat_path: str) -> re.Pattern[str]:
    return re.compile("^/" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(flat_path)) + "$")


def test_every_call_is_the_request_discovery_declares_sent_by_the_client(
    api: GoogleApi, emulator: RunningEmulator
) -> None:
    create_project(api)
    name = f"projects/{PID}"
    policy = api.call(
        "cloudresourcemanager.projects.getIamPolicy",
        resource=name,
        body={"options": {"requestedPolicyVersion": 3}},
    )
    api.call("cloudresourcemanager.projects.setIamPolicy", resource=name, body={"policy": policy})
    body = {"permissions": ["resourcemanager.projects.get"]}
    api.call("cloudresourcemanager.projects.testIamPermissions", resource=name, body=body)
    for parent in ("organizations/123456789012", "folders/1234"):
        kind = parent.split("/")[0]
        api.call(f"cloudresourcemanager.{kind}.testIamPermissions", resource=parent, body=body)
    patched = api.call(
        "cloudresourcemanager.projects.patch",
        name=name,
        updateMask="displayName",
        body={"displayName": "Renamed"},
    )
    api.wait(patched, api="cloudresourcemanager", what="renaming")
    deleted = api.call("cloudresourcemanager.projects.delete", name=name)
    api.wait(deleted, api="cloudresourcemanager", what="deleting")

    declared = discovery_methods()
    sent = [e for e in journal(emulator) if e["api"] == "cloudresourcemanager"]
    assert {e["method_id"] for e in sent} >= {
        "projects.create",
        "operations.get",
        "projects.getIamPolicy",
        "projects.setIamPolicy",
        "projects.testIamPermissions",
        "organizations.testIamPermissions",
        "folders.testIamPermissions",
        "projects.patch",
        "projects.delete",
    }
    for entry in sent:
        method = declared[f"cloudresourcemanager.{entry['method_id']}"]
        assert entry["status"] < 400, entry
        assert entry["method"] == method["httpMethod"], entry
        assert path_pattern(method["flatPath"]).match(entry["path"]), entry
        if entry["method_id"] != "operations.get":
            # the GAPIC REST client's mark: numeric enums requested with `$alt`
            assert "enum-encoding=int" in unquote(entry["query"]), entry


def test_answers_are_the_rest_json(api: GoogleApi) -> None:
    done = create_project(api)
    assert done["done"] is True
    assert done["metadata"]["@type"].endswith("resourcemanager.v3.CreateProjectMetadata")
    assert done["response"]["@type"] == (
        "type.googleapis.com/google.cloud.resourcemanager.v3.Project"
    )
    project = api.call("cloudresourcemanager.projects.get", name=f"projects/{PID}")
    assert project["projectId"] == PID
    assert re.fullmatch(r"projects/\d+", project["name"])
    assert project["state"] == "ACTIVE"  # an enum by name, as REST answers it
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z", project["createTime"])
    policy = api.call("cloudresourcemanager.projects.getIamPolicy", resource=f"projects/{PID}")
    assert isinstance(policy["etag"], str) and isinstance(policy["version"], int)
    assert {b["role"] for b in policy["bindings"]} >= {"roles/owner"}


def test_errors_are_classified_as_every_call_s(api: GoogleApi) -> None:
    with pytest.raises(GoogleApiError) as denied:
        api.call("cloudresourcemanager.projects.get", name="projects/no-such-project")
    error = denied.value
    assert (error.http_status, error.status) == (403, "PERMISSION_DENIED")
    assert error.reason == "IAM_PERMISSION_DENIED"
    assert error.details[0]["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
    assert error.method == "cloudresourcemanager.projects.get"
    assert classify(error, error.method).verdict is Verdict.FAIL

    create_project(api)
    name = f"projects/{PID}"
    policy = api.call("cloudresourcemanager.projects.getIamPolicy", resource=name)
    api.call("cloudresourcemanager.projects.setIamPolicy", resource=name, body={"policy": policy})
    with pytest.raises(GoogleApiError) as stale:  # the same etag again: changed since read
        api.call(
            "cloudresourcemanager.projects.setIamPolicy", resource=name, body={"policy": policy}
        )
    assert (stale.value.http_status, stale.value.status) == (409, "ABORTED")
    assert classify(stale.value, stale.value.method).verdict is Verdict.CONFLICT


def test_the_client_never_retries_on_its_own(api: GoogleApi, emulator: RunningEmulator) -> None:
    once = replace(FAST_TIMING, retry=RetryPolicy(base_delay=0.01, max_attempts=1))
    single = GoogleApi(Target(endpoint=emulator.base_url), once)
    set_faults(emulator, rules=[{"method_id": "projects.get", "status": 503}])
    with pytest.raises(GoogleApiError) as raised:
        single.call("cloudresourcemanager.projects.get", name=f"projects/{PID}")
    assert raised.value.http_status == 503
    assert len([e for e in journal(emulator) if e["method_id"] == "projects.get"]) == 1


def test_calls_are_counted_traced_and_recorded(
    emulator: RunningEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    control(emulator, "reset")
    record = tmp_path / "crm.http.log"
    monkeypatch.setenv("PROVISION_RECORD", str(record))
    api = GoogleApi(Target(endpoint=emulator.base_url), FAST_TIMING)
    with caplog.at_level(logging.DEBUG, logger="provision.gcp"):
        create_project(api)
        with pytest.raises(GoogleApiError):
            api.call("cloudresourcemanager.projects.get", name="projects/no-such-project")
    assert api.stats.by_method["cloudresourcemanager.projects.create"] == 1
    assert api.stats.by_method["cloudresourcemanager.projects.get"] == 1
    lines = [r.getMessage() for r in caplog.records if r.name == "provision.gcp"]
    assert any(
        line.startswith(f"POST {emulator.base_url}/v3/projects?") and " -> ok (" in line
        for line in lines
    ), lines
    assert any("/v3/projects/no-such-project?" in line and " -> 403 (" in line for line in lines)
    text = record.read_text(encoding="utf-8")
    assert f"POST {emulator.base_url}/v3/projects?" in text
    assert '"projectId": "crm-client-test"' in text
    assert "403 FORBIDDEN" in text.upper() and "IAM_PERMISSION_DENIED" in text
    assert "x-goog-api-client: " in text and "gapic/" in text


def test_a_token_in_a_recorded_request_is_removed(
    emulator: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from google.oauth2.credentials import Credentials

    control(emulator, "reset")
    record = tmp_path / "crm.http.log"
    monkeypatch.setenv("PROVISION_RECORD", str(record))
    api = GoogleApi(Target(endpoint=emulator.base_url), FAST_TIMING)
    api._identity = replace(api.identity, credentials=Credentials(token="ya29.canary-token"))  # type: ignore[no-untyped-call]
    create_project(api)
    text = record.read_text(encoding="utf-8")
    assert "canary-token" not in text
    assert "authorization: (removed)" in text.lower()


def test_a_cancelled_run_sends_nothing(api: GoogleApi, emulator: RunningEmulator) -> None:
    clear_journal(emulator)
    api.cancel.set()
    with pytest.raises(RunInterruptedError):
        api.call("cloudresourcemanager.projects.get", name=f"projects/{PID}")
    assert journal(emulator) == []


def test_no_answer_names_the_endpoint_and_is_not_retried_for_long() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    api = GoogleApi(Target(endpoint=endpoint), FAST_TIMING)
    with pytest.raises(GoogleApiError) as raised:
        api.call("cloudresourcemanager.projects.get", name=f"projects/{PID}")
    error = raised.value
    assert (error.http_status, error.reason) == (0, "CONNECTION_REFUSED")
    assert f"no answer at {endpoint}: ConnectionRefusedError" in error.message
    assert "gave up after 3 attempts" in error.message
