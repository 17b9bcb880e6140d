"""Quotas (429 RATE_LIMIT_EXCEEDED), fault injection and the journal, seen by real clients."""

from __future__ import annotations

import http.client
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from provision.emulator.core.quotas import QuotaLedger
from provision.emulator.server import RunningEmulator
from tests.conftest import journal
from tests.emulator.clients import control, discovery_client, error_body, seed_project


def _enable_batch(emulator: RunningEmulator, project: str, services: list[str]) -> Any:
    su = discovery_client(emulator, "serviceusage", "v1").services()
    return su.batchEnable(parent=f"projects/{project}", body={"serviceIds": services}).execute()


def test_batch_enable_costs_five_mutate_requests(emulator: RunningEmulator) -> None:
    number = seed_project(emulator, "quota-su")["name"].removeprefix("projects/")
    control(
        emulator,
        "settings",
        {"quotas": True, "quota_limits": {"MutateRequestsPerMinutePerProject": 10}},
    )
    _enable_batch(emulator, "quota-su", ["pubsub.googleapis.com"])
    _enable_batch(emulator, "quota-su", ["iam.googleapis.com"])
    with pytest.raises(HttpError) as limited:
        _enable_batch(emulator, "quota-su", ["dns.googleapis.com"])
    assert limited.value.status_code == 429
    assert limited.value.resp["retry-after"] == "30"
    error = error_body(limited.value)["error"]
    assert error["status"] == "RESOURCE_EXHAUSTED"
    assert error["message"] == (
        "Quota exceeded for quota metric 'Mutate requests' and limit 'Mutate requests per "
        "minute' of service 'serviceusage.googleapis.com' for consumer "
        f"'project_number:{number}'."
    )
    assert error["errors"][0]["reason"] == "rateLimitExceeded"
    info, help_link, retry = error["details"]
    assert info == {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "RATE_LIMIT_EXCEEDED",
        "domain": "googleapis.com",
        "metadata": {
            "consumer": f"projects/{number}",
            "quota_limit": "MutateRequestsPerMinutePerProject",
            "quota_limit_value": "10",
            "quota_location": "global",
            "quota_metric": "serviceusage.googleapis.com/mutate_requests",
            "service": "serviceusage.googleapis.com",
        },
    }
    assert help_link["@type"] == "type.googleapis.com/google.rpc.Help"
    assert retry == {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "30s"}
    assert journal(emulator)[-1]["injected"] == "quota"
    # A rejected request changes nothing, and reads have their own bucket.
    su = discovery_client(emulator, "serviceusage", "v1").services()
    enabled = su.list(parent="projects/quota-su", filter="state:ENABLED").execute()
    assert "dns.googleapis.com" not in [s["config"]["name"] for s in enabled["services"]]

    world = emulator.world
    clock = world.clock
    world.clock = lambda: clock() + 30
    try:
        _enable_batch(emulator, "quota-su", ["dns.googleapis.com"])
    finally:
        world.clock = clock


def test_default_quotas_allow_documented_rates(emulator: RunningEmulator) -> None:
    seed_project(emulator, "quota-defaults")
    control(emulator, "settings", {"quotas": True})
    su = discovery_client(emulator, "serviceusage", "v1").services()
    for _ in range(12):
        su.batchEnable(
            parent="projects/quota-defaults", body={"serviceIds": ["pubsub.googleapis.com"]}
        ).execute()
    with pytest.raises(HttpError) as thirteenth:
        su.batchEnable(
            parent="projects/quota-defaults", body={"serviceIds": ["pubsub.googleapis.com"]}
        ).execute()
    assert thirteenth.value.status_code == 429


def test_create_project_costs_ten_writes(emulator: RunningEmulator) -> None:
    control(
        emulator,
        "settings",
        {"quotas": True, "quota_limits": {"WriteRequestsPerMinutePerProject": 20}},
    )
    crm = discovery_client(emulator, "cloudresourcemanager", "v3").projects()
    crm.create(body={"projectId": "quota-crm-1"}).execute()
    crm.create(body={"projectId": "quota-crm-2"}).execute()
    with pytest.raises(HttpError) as limited:
        crm.create(body={"projectId": "quota-crm-3"}).execute()
    assert limited.value.status_code == 429
    assert "'Write requests per minute'" in error_body(limited.value)["error"]["message"]
    crm.get(name="projects/quota-crm-1").execute()


def test_bucket_create_delete_rate_is_one_per_two_seconds() -> None:
    ledger = QuotaLedger()
    assert ledger.charge("storage", "buckets.insert", True, "1", 100.0) is None
    limited = ledger.charge("storage", "buckets.delete", True, "1", 100.5)
    assert limited is not None
    assert str(limited) == "The project exceeded the rate limit for creating and deleting buckets."
    assert ledger.charge("storage", "buckets.insert", True, "2", 100.5) is None
    assert ledger.charge("storage", "buckets.get", False, "1", 100.5) is None
    assert ledger.charge("storage", "buckets.delete", True, "1", 102.0) is None


def _statuses(emulator: RunningEmulator, seed: int) -> list[int]:
    control(emulator, "reset", {"seed": seed, "error_rate": 0.5})
    seed_project(emulator, "fault-replay")
    statuses = []
    crm = discovery_client(emulator, "cloudresourcemanager", "v3").projects()
    for _ in range(20):
        try:
            crm.get(name="projects/fault-replay").execute()
            statuses.append(200)
        except HttpError as error:
            statuses.append(error.status_code)
    return statuses


def test_error_rate_replays_with_the_same_seed(emulator: RunningEmulator) -> None:
    first = _statuses(emulator, 7)
    assert 200 in first
    assert 503 in first
    assert _statuses(emulator, 7) == first
    assert _statuses(emulator, 8) != first


def test_error_after_commit_commits_then_fails(emulator: RunningEmulator) -> None:
    control(emulator, "settings", {"errors_after_commit": 1.0, "error_codes": [500]})
    crm = discovery_client(emulator, "cloudresourcemanager", "v3").projects()
    with pytest.raises(HttpError) as failed:
        crm.create(body={"projectId": "committed-anyway"}).execute()
    assert failed.value.status_code == 500
    assert crm.get(name="projects/committed-anyway").execute()["projectId"] == "committed-anyway"
    with pytest.raises(HttpError) as duplicate:
        crm.create(body={"projectId": "committed-anyway"}).execute()
    assert duplicate.value.status_code == 409
    assert [entry["injected"] for entry in journal(emulator)] == ["after-commit", "", ""]


def test_an_after_commit_rule_counts_only_when_it_is_injected(emulator: RunningEmulator) -> None:
    """A write that fails on its own (here 409 ALREADY_EXISTS) does not use up `times`."""
    seed_project(emulator, "already-taken")
    rule = {"method_id": "projects.create", "status": 503, "after_commit": True, "times": 1}
    control(emulator, "settings", {"rules": [rule]})
    crm = discovery_client(emulator, "cloudresourcemanager", "v3").projects()
    with pytest.raises(HttpError) as taken:
        crm.create(body={"projectId": "already-taken"}).execute()
    assert taken.value.status_code == 409
    with pytest.raises(HttpError) as injected:
        crm.create(body={"projectId": "fresh-one"}).execute()
    assert injected.value.status_code == 503
    crm.create(body={"projectId": "fresh-two"}).execute()
    assert [e["injected"] for e in journal(emulator) if e["method_id"] == "projects.create"] == [
        "",
        "after-commit",
        "",
    ]


def test_connection_reset_reaches_httplib2(emulator: RunningEmulator) -> None:
    seed_project(emulator, "reset-project")
    rule = {
        "status": 0,
        "api": "cloudresourcemanager",
        "method_id": "projects.get",
        "times": 2,
    }
    control(emulator, "settings", {"rules": [rule]})
    crm = discovery_client(emulator, "cloudresourcemanager", "v3").projects()
    # httplib2 retries a dropped connection once by itself; the second reset surfaces.
    with pytest.raises((ConnectionError, http.client.HTTPException)):
        crm.get(name="projects/reset-project").execute()
    assert crm.get(name="projects/reset-project").execute()["projectId"] == "reset-project"
    assert [entry["injected"] for entry in journal(emulator)] == ["reset", "reset", ""]


def test_journal_marks_mutations(emulator: RunningEmulator) -> None:
    seed_project(emulator, "journal-marks", billing=True)
    su = discovery_client(emulator, "serviceusage", "v1")
    operation = (
        su.services()
        .enable(name="projects/journal-marks/services/healthcare.googleapis.com")
        .execute()
    )
    su.operations().get(name=operation["name"]).execute()
    su.services().list(parent="projects/journal-marks").execute()
    billing = discovery_client(emulator, "cloudbilling", "v1").projects()
    billing.getBillingInfo(name="projects/journal-marks").execute()
    billing.updateBillingInfo(name="projects/journal-marks", body={}).execute()
    marks = [(e["api"], e["method_id"], e["mutating"]) for e in journal(emulator)]
    assert marks == [
        ("serviceusage", "services.enable", True),
        ("serviceusage", "operations.get", False),
        ("serviceusage", "services.list", False),
        ("cloudbilling", "projects.getBillingInfo", False),
        ("cloudbilling", "projects.updateBillingInfo", True),
    ]
