"""Pacing, operation waiting and timing settings (pure, with injected clocks and pollers)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

from provision.errors import GoogleApiError
from provision.gcp.operations import (
    OperationTimeoutError,
    Progress,
    operation_get_method,
    poll_delays,
    wait_operation,
)
from provision.gcp.pacing import Pacer, TokenBucket, is_read
from provision.gcp.settings import PacingPolicy, PollPolicy, Quota, Timing

FAST = PollPolicy(initial_delay=0.001, max_delay=0.002, deadline=5, progress_every=0)


def test_token_bucket_never_exceeds_the_quota_in_a_minute() -> None:
    now = {"t": 0.0}
    bucket = TokenBucket(Quota(per_minute=60, burst=15), clock=lambda: now["t"])
    sent = 0.0
    # batchEnable costs 5: simulate a greedy caller for one minute, sleeping as told
    while now["t"] < 60:
        wait = bucket.reserve(5)
        now["t"] += wait
        if now["t"] < 60:
            sent += 5
    assert sent <= 60


def test_pacer_waits_for_writes_and_reads_by_their_quotas_and_only_when_enabled() -> None:
    pacer = Pacer(
        PacingPolicy(
            quotas={"serviceusage": Quota(per_minute=61, burst=1)},
            read_quotas={"serviceusage": Quota(per_minute=61, burst=1)},
        )
    )
    assert pacer.before("serviceusage.services.list") == 0.0
    assert 0.5 < pacer.before("serviceusage.operations.get") <= 1.1  # reads have their own
    assert pacer.before("healthcare.projects.locations.datasets.get") == 0.0  # no read quota
    assert pacer.before("serviceusage.services.enable") == 0.0
    waited = pacer.before("serviceusage.services.enable")
    assert 0.5 < waited <= 1.1
    off = Pacer(PacingPolicy(enabled=False))
    assert off.before("serviceusage.services.batchEnable") == 0.0


def test_reads_are_the_get_list_and_search_calls() -> None:
    assert is_read("cloudresourcemanager.projects.getIamPolicy")
    assert is_read("serviceusage.operations.get")
    assert is_read("storage.buckets.list")
    assert is_read("cloudresourcemanager.projects.search")
    assert not is_read("cloudresourcemanager.projects.setIamPolicy")
    assert not is_read("serviceusage.services.enable")


def test_default_read_quotas_are_googles() -> None:
    """A quarter of a minute's reads at once; never more than the documented reads a minute."""
    quotas = PacingPolicy().read_quotas
    assert quotas["serviceusage"].per_minute == 240
    assert quotas["cloudresourcemanager"].per_minute == 600
    assert quotas["iam"].per_minute == 6000
    assert "healthcare" not in quotas


def test_done_operations_are_never_polled() -> None:
    def get(name: str) -> dict[str, Any]:
        raise AssertionError(f"polled {name}")

    done = {"name": "operations/noop.DONE_OPERATION", "done": True}
    assert wait_operation(done, get=get, what="enable", policy=FAST) is done


def test_operation_is_polled_until_done_and_reports_progress() -> None:
    answers: Iterator[dict[str, Any]] = iter(
        [
            {"name": "operations/cp.1"},
            {"name": "operations/cp.1", "done": True, "response": {"x": 1}},
        ]
    )
    reports: list[Progress] = []
    final = wait_operation(
        {"name": "operations/cp.1"},
        get=lambda name: next(answers),
        what="creating project",
        policy=FAST,
        progress=reports.append,
    )
    assert final["response"] == {"x": 1}
    assert reports and reports[0].what == "creating project"


def test_failed_operation_becomes_google_api_error() -> None:
    failed = {
        "name": "operations/x",
        "done": True,
        "error": {"code": 9, "message": "billing not enabled"},
    }
    with pytest.raises(GoogleApiError) as raised:
        wait_operation(failed, get=lambda n: failed, what="enable", policy=FAST)
    assert raised.value.status == "FAILED_PRECONDITION"
    assert raised.value.http_status == 400


def test_operation_deadline() -> None:
    now = {"t": 0.0}

    def get(name: str) -> dict[str, Any]:
        now["t"] += 3
        return {"name": name}

    with pytest.raises(OperationTimeoutError, match="still running"):
        wait_operation(
            {"name": "operations/slow"}, get=get, what="w", policy=FAST, clock=lambda: now["t"]
        )


def test_poll_delays_follow_the_time_waited() -> None:
    now = {"t": 0.0}
    policy = PollPolicy(initial_delay=0.5, fraction=0.1, max_delay=4)
    next_delay = poll_delays(policy, clock=lambda: now["t"])
    assert 0.45 <= next_delay() <= 0.5  # the first poll: the initial delay
    now["t"] = 20.0
    assert 1.8 <= next_delay() <= 2.0  # a tenth of the 20 s waited
    now["t"] = 100.0
    assert 3.6 <= next_delay() <= 4.0  # capped


@pytest.mark.parametrize("duration", [0.3, 1.0, 5.0, 25.0, 120.0])
def test_operations_are_noticed_within_a_fraction_of_their_duration(
    duration: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An operation done at `duration` seconds is noticed within 8% of it (0.1 s for short
    ones), with about log(duration / initial) / log(1.08) polls."""
    now = {"t": 0.0}
    polls: list[float] = []

    def get(name: str) -> dict[str, object]:
        polls.append(now["t"])
        return {"name": name, "done": now["t"] >= duration}

    def advance(seconds: float, cancel: object = None) -> None:
        now["t"] += seconds

    monkeypatch.setattr("provision.gcp.operations.sleep", advance)
    policy = PollPolicy()
    wait_operation(
        {"name": "operations/x"}, get=get, what="w", policy=policy, clock=lambda: now["t"]
    )
    overshoot = polls[-1] - duration
    assert overshoot <= max(policy.fraction * duration, policy.initial_delay) + 1e-9
    needed = math.log(max(duration, policy.initial_delay) / policy.initial_delay)
    assert len(polls) <= needed / math.log(1 + policy.fraction * 0.9) + 3


def test_operation_pollers_by_api() -> None:
    assert (
        operation_get_method("operations/cp.1", "cloudresourcemanager")
        == "cloudresourcemanager.operations.get"
    )
    assert (
        operation_get_method("operations/acf.p2-1-2", "serviceusage")
        == "serviceusage.operations.get"
    )
    name = "projects/p/locations/us/datasets/d/operations/123"
    assert (
        operation_get_method(name, "healthcare")
        == "healthcare.projects.locations.datasets.operations.get"
    )


def test_timing_from_env() -> None:
    timing = Timing.from_env(
        {
            "PROVISION_RETRY_BASE_DELAY": "0.01",
            "PROVISION_POLL_INITIAL": "0.02",
            "PROVISION_PACING": "off",
        }
    )
    assert timing.retry.base_delay == 0.01
    assert timing.poll.initial_delay == 0.02
    assert not timing.pacing.enabled
    with pytest.raises(ValueError, match="PROVISION_POLL_MAX"):
        Timing.from_env({"PROVISION_POLL_MAX": "soon"})
