"""The retry classification table, data-driven: real Google error envelopes -> verdict."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from provision.errors import GoogleApiError
from provision.gcp.errors import parse_error_body, retry_delay
from provision.gcp.retry import Verdict, backoff_delay, call_with_retry, classify, settle_delay
from provision.gcp.settings import RetryPolicy

CONCURRENT = (
    "There were concurrent policy changes. "
    "Please retry the whole read-modify-write with exponential backoff."
)


def esf(
    code: int, status: str, message: str, reason: str = "", legacy: str = "", **extra: Any
) -> str:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    details: list[dict[str, Any]] = list(extra.get("details", []))
    if reason:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": "googleapis.com",
            }
        )
    if details:
        error["details"] = details
    if legacy:
        error["errors"] = [{"message": message, "domain": "global", "reason": legacy}]
    return json.dumps({"error": error})


def gcs(code: int, message: str, reason: str) -> str:
    return json.dumps(
        {
            "error": {
                "code": code,
                "message": message,
                "errors": [{"message": message, "domain": "global", "reason": reason}],
            }
        }
    )


CASES: list[tuple[str, int, str, str, Verdict]] = [
    # (case, http status, body, method, verdict)
    (
        "429 rate limit (ErrorInfo)",
        429,
        esf(
            429,
            "RESOURCE_EXHAUSTED",
            "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute'",
            "RATE_LIMIT_EXCEEDED",
            "rateLimitExceeded",
        ),
        "cloudresourcemanager.projects.get",
        Verdict.RETRY,
    ),
    (
        "429 rate limit (legacy only, Storage)",
        429,
        gcs(429, "The rate of change requests to the bucket is too high.", "rateLimitExceeded"),
        "storage.buckets.setIamPolicy",
        Verdict.RETRY,
    ),
    (
        "403 userRateLimitExceeded (legacy)",
        403,
        gcs(403, "User Rate Limit Exceeded", "userRateLimitExceeded"),
        "storage.buckets.get",
        Verdict.RETRY,
    ),
    (
        "429 quota exhausted: fail fast",
        429,
        esf(
            429,
            "RESOURCE_EXHAUSTED",
            "Quota exceeded for quota metric 'Projects'",
            "RESOURCE_EXHAUSTED",
        ),
        "cloudresourcemanager.projects.create",
        Verdict.FAIL,
    ),
    (
        "429 without any reason: fail fast",
        429,
        esf(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted"),
        "healthcare.projects.locations.datasets.create",
        Verdict.FAIL,
    ),
    (
        "500",
        500,
        esf(500, "INTERNAL", "Internal error encountered."),
        "serviceusage.services.list",
        Verdict.RETRY,
    ),
    ("502 html", 502, "<html>Bad Gateway</html>", "serviceusage.services.list", Verdict.RETRY),
    (
        "503",
        503,
        esf(503, "UNAVAILABLE", "The service is currently unavailable."),
        "cloudresourcemanager.projects.setIamPolicy",
        Verdict.RETRY,
    ),
    (
        "504",
        504,
        esf(504, "DEADLINE_EXCEEDED", "Deadline exceeded"),
        "healthcare.projects.locations.datasets.get",
        Verdict.RETRY,
    ),
    ("408", 408, "", "storage.buckets.insert", Verdict.RETRY),
    (
        "activation in progress",
        400,
        esf(
            400,
            "FAILED_PRECONDITION",
            "Another activation or deactivation is in progress for the following service(s): "
            "healthcare.googleapis.com and project demo.",
            legacy="failedPrecondition",
        ),
        "serviceusage.services.batchEnable",
        Verdict.RETRY,
    ),
    (
        "precondition check failed 400",
        400,
        esf(400, "FAILED_PRECONDITION", "Precondition check failed."),
        "serviceusage.services.batchEnable",
        Verdict.RETRY,
    ),
    (
        "precondition check failed 412",
        412,
        esf(412, "FAILED_PRECONDITION", "Precondition check failed."),
        "serviceusage.services.batchEnable",
        Verdict.RETRY,
    ),
    (
        "BigQuery dataset If-Match not met 412",
        412,
        esf(412, "FAILED_PRECONDITION", "Precondition check failed."),
        "bigquery.datasets.patch",
        Verdict.CONFLICT,
    ),
    (
        "dataset not initialized",
        404,
        esf(404, "NOT_FOUND", "dataset not initialized"),
        "healthcare.projects.locations.datasets.dicomStores.create",
        Verdict.RETRY,
    ),
    (
        "409 ABORTED is a conflict",
        409,
        esf(
            409,
            "ABORTED",
            CONCURRENT,
            legacy="aborted",
        ),
        "cloudresourcemanager.projects.setIamPolicy",
        Verdict.CONFLICT,
    ),
    (
        "409 ABORTED without legacy errors",
        409,
        esf(
            409,
            "ABORTED",
            CONCURRENT,
        ),
        "healthcare.projects.locations.datasets.setIamPolicy",
        Verdict.CONFLICT,
    ),
    (
        "Storage 412 conditionNotMet is a conflict",
        412,
        gcs(412, "Precondition Failed", "conditionNotMet"),
        "storage.buckets.setIamPolicy",
        Verdict.CONFLICT,
    ),
    (
        "409 ALREADY_EXISTS fails (resolved by the caller)",
        409,
        esf(409, "ALREADY_EXISTS", "Requested entity already exists", legacy="alreadyExists"),
        "cloudresourcemanager.projects.create",
        Verdict.FAIL,
    ),
    (
        "Storage 409 bucket exists fails",
        409,
        gcs(
            409,
            "Your previous request to create the named bucket succeeded and you already own it.",
            "conflict",
        ),
        "storage.buckets.insert",
        Verdict.FAIL,
    ),
    (
        "400 INVALID_ARGUMENT",
        400,
        esf(400, "INVALID_ARGUMENT", "Request contains an invalid argument.", legacy="badRequest"),
        "cloudresourcemanager.projects.create",
        Verdict.FAIL,
    ),
    (
        "403 PERMISSION_DENIED",
        403,
        esf(
            403,
            "PERMISSION_DENIED",
            "Permission 'healthcare.datasets.get' denied on resource (or it may not exist).",
            "IAM_PERMISSION_DENIED",
        ),
        "healthcare.projects.locations.datasets.get",
        Verdict.FAIL,
    ),
    (
        "403 SERVICE_DISABLED",
        403,
        esf(
            403,
            "PERMISSION_DENIED",
            "Cloud Healthcare API has not been used in project 1 before or it is disabled.",
            "SERVICE_DISABLED",
        ),
        "healthcare.projects.locations.datasets.get",
        Verdict.FAIL,
    ),
    (
        "billing missing",
        400,
        esf(
            400,
            "FAILED_PRECONDITION",
            "Billing account for project '1' is not found. Billing must be enabled for "
            "activation of service(s) 'healthcare.googleapis.com' to proceed.",
            "UREQ_PROJECT_BILLING_NOT_FOUND",
        ),
        "serviceusage.services.enable",
        Verdict.FAIL,
    ),
    (
        "401",
        401,
        esf(401, "UNAUTHENTICATED", "Request had invalid authentication credentials."),
        "cloudresourcemanager.projects.get",
        Verdict.FAIL,
    ),
    (
        "404 plain",
        404,
        esf(404, "NOT_FOUND", "Unknown service account", legacy="notFound"),
        "iam.projects.serviceAccounts.get",
        Verdict.FAIL,
    ),
]


@pytest.mark.parametrize(
    ("case", "status", "body", "method", "verdict"), CASES, ids=[c[0] for c in CASES]
)
def test_classification(case: str, status: int, body: str, method: str, verdict: Verdict) -> None:
    error = parse_error_body(status, body, method=method)
    assert classify(error, method).verdict is verdict, classify(error, method).why


def test_transport_errors_are_retried() -> None:
    from provision.gcp.errors import from_transport_error

    error = from_transport_error(ConnectionResetError(104, "Connection reset by peer"))
    assert error.http_status == 0
    assert classify(error).verdict is Verdict.RETRY


def test_service_disabled_is_retried_only_inside_a_propagation_window() -> None:
    error = parse_error_body(
        403, esf(403, "PERMISSION_DENIED", "API has not been used", "SERVICE_DISABLED")
    )
    assert classify(error, "x", propagating=False).verdict is Verdict.FAIL
    assert classify(error, "x", propagating=True).verdict is Verdict.RETRY


def test_billing_failure_hints_at_linking_billing() -> None:
    body = esf(
        400,
        "FAILED_PRECONDITION",
        "Billing account for project '1' is not found.",
        "UREQ_PROJECT_BILLING_NOT_FOUND",
    )

    def call() -> dict[str, Any]:
        raise parse_error_body(400, body)

    with pytest.raises(GoogleApiError) as raised:
        call_with_retry(
            call, method="serviceusage.services.enable", policy=RetryPolicy(base_delay=0.001)
        )
    assert "link a billing account" in str(raised.value)


def test_envelopes_of_both_dialects_are_parsed() -> None:
    esf_error = parse_error_body(
        403, esf(403, "PERMISSION_DENIED", "nope", "SERVICE_DISABLED", "accessNotConfigured")
    )
    assert (esf_error.status, esf_error.reason, esf_error.message) == (
        "PERMISSION_DENIED",
        "SERVICE_DISABLED",
        "nope",
    )
    storage = parse_error_body(404, gcs(404, "The specified bucket does not exist.", "notFound"))
    assert (storage.status, storage.reason) == ("NOT_FOUND", "notFound")
    assert storage.details == []
    garbage = parse_error_body(502, b"<html>oops</html>", http_reason="Bad Gateway")
    assert garbage.status == "UNAVAILABLE" and "oops" in garbage.message


def test_tokens_never_reach_messages() -> None:
    error = parse_error_body(
        401, esf(401, "UNAUTHENTICATED", "bad token ya29.a0AfH6SMBsecretsecret")
    )
    assert "ya29" not in str(error)


def test_retry_info_delay_is_honoured() -> None:
    body = esf(
        429,
        "RESOURCE_EXHAUSTED",
        "slow down",
        "RATE_LIMIT_EXCEEDED",
        details=[{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.05s"}],
    )
    error = parse_error_body(429, body)
    assert retry_delay(error) == pytest.approx(0.05)
    sleeps: list[float] = []
    attempts = {"n": 0}

    def call() -> str:
        attempts["n"] += 1
        if attempts["n"] < 3:
            raise error
        return "ok"

    result = call_with_retry(
        call,
        method="m",
        policy=RetryPolicy(base_delay=0.0001, max_delay=0.0001),
        on_retry=lambda attempt: sleeps.append(attempt.delay),
    )
    assert result == "ok"
    assert sleeps and all(s >= 0.05 for s in sleeps)


def test_attempts_are_capped() -> None:
    attempts = {"n": 0}

    def call() -> None:
        attempts["n"] += 1
        raise parse_error_body(503, esf(503, "UNAVAILABLE", "down"))

    with pytest.raises(GoogleApiError) as raised:
        call_with_retry(call, method="m", policy=RetryPolicy(base_delay=0.0001, max_attempts=4))
    assert attempts["n"] == 4
    assert "gave up after 4 attempts" in str(raised.value)


def test_deadline_stops_retries() -> None:
    now = {"t": 0.0}

    def clock() -> float:
        return now["t"]

    def call() -> None:
        now["t"] += 10
        raise parse_error_body(503, esf(503, "UNAVAILABLE", "down"))

    with pytest.raises(GoogleApiError, match="gave up"):
        call_with_retry(
            call, method="m", policy=RetryPolicy(base_delay=0.0001, deadline=25), clock=clock
        )
    assert now["t"] <= 30


def test_backoff_is_full_jitter_and_capped() -> None:
    policy = RetryPolicy(base_delay=1.0, multiplier=2.0, max_delay=8.0)
    rng = random.Random(7)
    delays = [backoff_delay(policy, n, rng) for n in range(1, 9) for _ in range(50)]
    assert max(delays) <= 8.0
    assert min(delays) >= 0.0
    assert backoff_delay(policy, 1, lambda: 1.0) == 1.0
    assert backoff_delay(policy, 3, lambda: 1.0) == 4.0
    assert backoff_delay(policy, 10, lambda: 1.0) == 8.0
    # de-synchronised: the spread of one attempt's delays is wide
    third = [backoff_delay(policy, 3, rng) for _ in range(200)]
    mean = sum(third) / len(third)
    spread = (sum((d - mean) ** 2 for d in third) / len(third)) ** 0.5
    assert spread / mean >= 0.3


def test_max_attempts_limit_is_enforced() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=9)


def test_eventual_consistency_is_bounded_by_the_deadline_not_the_attempts() -> None:
    now = {"t": 0.0}
    attempts = {"n": 0}

    def clock() -> float:
        return now["t"]

    def call() -> str:
        attempts["n"] += 1
        now["t"] += 0.5
        if now["t"] < 6:
            raise parse_error_body(404, esf(404, "NOT_FOUND", "dataset not initialized"))
        return "ready"

    policy = RetryPolicy(base_delay=0.0001, max_delay=0.0001, max_attempts=4, deadline=30)
    assert call_with_retry(call, method="m", policy=policy, clock=clock) == "ready"
    assert attempts["n"] > 4

    now["t"], attempts["n"] = 0.0, 0
    short = RetryPolicy(base_delay=0.0001, max_delay=0.0001, max_attempts=4, deadline=3)
    with pytest.raises(GoogleApiError, match="gave up"):
        call_with_retry(call, method="m", policy=short, clock=clock)
    assert now["t"] <= 4


def test_settling_states_are_asked_again_in_proportion_to_the_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A dataset that finishes initialising after 40 s is seen within 9% of that (full-jitter
    backoff capped at 32 s could notice it up to 32 s late)."""
    now = {"t": 0.0}
    ready_at = 40.0
    asked: list[float] = []

    def call() -> str:
        asked.append(now["t"])
        if now["t"] < ready_at:
            raise parse_error_body(404, esf(404, "NOT_FOUND", "dataset not initialized"))
        return "ok"

    def advance(seconds: float, cancel: object = None) -> None:
        now["t"] += seconds

    monkeypatch.setattr("provision.gcp.retry.sleep", advance)
    policy = RetryPolicy()
    assert call_with_retry(call, method="m", policy=policy, clock=lambda: now["t"]) == "ok"
    assert asked[-1] - ready_at <= policy.settle_fraction * ready_at
    assert settle_delay(policy, 0.0, lambda: 1.0) == policy.settle_min_delay
    assert settle_delay(policy, 1000.0, lambda: 1.0) == policy.max_delay
