"""The Google access layer against the emulator over real HTTP: retries, budgets, LROs, threads."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from provision.emulator.server import RunningEmulator
from provision.errors import GoogleApiError
from provision.gcp.api import GoogleApi
from provision.gcp.credentials import Target
from provision.gcp.settings import FAST_TIMING
from tests.e2e.conftest import BILLING, control, journal, set_faults

pytest.importorskip("provision.emulator.resourcemanager.routes")

PID = "gcp-layer-test"


@pytest.fixture
def api(emulator: RunningEmulator) -> GoogleApi:
    control(emulator, "reset")
    return GoogleApi(Target(endpoint=emulator.base_url), FAST_TIMING)


def create_project(api: GoogleApi) -> dict[str, Any]:
    operation = api.call("cloudresourcemanager.projects.create", body={"projectId": PID})
    return api.wait(operation, api="cloudresourcemanager", what="creating project")


def entries(emulator: RunningEmulator, method_id: str) -> list[dict[str, Any]]:
    return [e for e in journal(emulator) if e["method_id"] == method_id]


def test_persistent_503_is_retried_within_the_attempt_budget(
    api: GoogleApi, emulator: RunningEmulator
) -> None:
    set_faults(emulator, rules=[{"method_id": "projects.get", "status": 503}])
    with pytest.raises(GoogleApiError) as raised:
        api.call("cloudresourcemanager.projects.get", name=f"projects/{PID}")
    assert "gave up after 8 attempts" in str(raised.value)
    assert len(entries(emulator, "projects.get")) == 8


@pytest.mark.parametrize("status", [500, 502, 503, 504, 0])
def test_transient_failures_are_retried(
    api: GoogleApi, emulator: RunningEmulator, status: int
) -> None:
    create_project(api)
    set_faults(emulator, rules=[{"method_id": "projects.get", "status": status, "times": 2}])
    project = api.call("cloudresourcemanager.projects.get", name=f"projects/{PID}")
    assert project["projectId"] == PID
    assert [e["status"] for e in entries(emulator, "projects.get")][-1] == 200
    if status == 0:
        # httplib2 itself re-sends once when a connection closes before any status line
        # (its stale keep-alive rule); every other failure is counted by the retry table.
        assert 1 <= api.stats.retries <= 2
    else:
        assert api.stats.retries == 2


def test_rate_limit_honours_retry_info(api: GoogleApi, emulator: RunningEmulator) -> None:
    create_project(api)
    set_faults(emulator, rules=[{"method_id": "projects.get", "status": 429, "times": 1}])
    delays: list[float] = []
    api.on_retry = lambda attempt: delays.append(attempt.delay)
    api.call("cloudresourcemanager.projects.get", name=f"projects/{PID}")
    assert len(delays) == 1
    assert delays[0] >= 1.0  # the emulator's RetryInfo.retryDelay, not the 10 ms test backoff


def test_permission_denied_fails_at_once(api: GoogleApi, emulator: RunningEmulator) -> None:
    with pytest.raises(GoogleApiError) as raised:
        api.call("cloudresourcemanager.projects.get", name=f"projects/{PID}")
    assert raised.value.http_status == 403
    assert len(entries(emulator, "projects.get")) == 1


def test_project_operation_is_polled_until_done(api: GoogleApi, emulator: RunningEmulator) -> None:
    set_faults(emulator, lro_polls=3)
    done = create_project(api)
    assert done["done"] is True
    assert done["response"]["projectId"] == PID
    assert len(entries(emulator, "operations.get")) == 3


def test_already_done_operations_are_never_polled(
    api: GoogleApi, emulator: RunningEmulator
) -> None:
    create_project(api)
    api.call(
        "cloudbilling.projects.updateBillingInfo",
        name=f"projects/{PID}",
        body={"billingAccountName": BILLING},
    )
    service = f"projects/{PID}/services/storage.googleapis.com"
    first = api.call("serviceusage.services.enable", name=service, body={})
    api.wait(first, api="serviceusage", what="enable")
    polls = len(entries(emulator, "operations.get"))
    again = api.call("serviceusage.services.enable", name=service, body={})
    assert again.get("done") is True
    api.wait(again, api="serviceusage", what="enable again")
    assert len(entries(emulator, "operations.get")) == polls


def test_billing_failure_is_not_retried(api: GoogleApi, emulator: RunningEmulator) -> None:
    create_project(api)
    with pytest.raises(GoogleApiError) as raised:
        api.call(
            "serviceusage.services.enable",
            name=f"projects/{PID}/services/healthcare.googleapis.com",
            body={},
        )
    assert raised.value.reason == "UREQ_PROJECT_BILLING_NOT_FOUND"
    assert "link a billing account" in raised.value.message
    assert len(entries(emulator, "services.enable")) == 1


def test_each_thread_uses_its_own_connection(api: GoogleApi, emulator: RunningEmulator) -> None:
    create_project(api)
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            for _ in range(10):
                api.call("cloudresourcemanager.projects.get", name=f"projects/{PID}")
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=reader) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(entries(emulator, "projects.get")) == 160
