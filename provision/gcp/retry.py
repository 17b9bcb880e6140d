"""The one retry layer: a classification table and jittered, bounded backoff.

`classify(error, method)` is pure: it walks `RULES` top to bottom and returns the first matching
rule. Three verdicts exist:

* `retry`    - transient; the same call is repeated after a jittered backoff.
* `conflict` - an optimistic-concurrency failure (409 ABORTED, Storage 412 conditionNotMet,
               BigQuery datasets' 412 on If-Match);
               NOT retried here: the caller restarts its whole read-modify-write.
* `fail`     - permanent; raised at once, with a hint when one helps.

`call_with_retry` runs a callable under a `RetryPolicy`: at most `max_attempts` attempts (rules
for eventual consistency, `until_deadline`, are bounded by time only), within `deadline` seconds,
sleeping `uniform(0, min(max_delay, base * multiplier**n))` between attempts (full jitter) but
never less than the server's `RetryInfo.retryDelay`. A state that settles on its own
(`until_deadline` rules: an API still propagating, a dataset still initialising) is not
overload, so it is asked again in proportion to the time already waited instead
(`settle_delay`), as operations are polled: it is noticed soon after it settled, not up to a
whole backoff step (32 s) later.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TypeVar

from provision.errors import GoogleApiError, RunInterruptedError
from provision.gcp.errors import (
    CONNECTION_REFUSED,
    HOST_NOT_FOUND,
    TRANSPORT_REASON,
    retry_delay,
)
from provision.gcp.settings import RetryPolicy

T = TypeVar("T")


class Verdict(StrEnum):
    RETRY = "retry"
    CONFLICT = "conflict"
    FAIL = "fail"


@dataclass(frozen=True)
class Rule:
    """One row of the table. Unset criteria match anything."""

    verdict: Verdict
    why: str
    statuses: tuple[int, ...] = ()
    """HTTP statuses (0 = transport error before any status)."""
    reasons: tuple[str, ...] = ()
    """ErrorInfo.reason or legacy errors[0].reason."""
    canonical: tuple[str, ...] = ()
    """Canonical statuses (e.g. `ABORTED`)."""
    message_contains: str = ""
    message_equals: str = ""
    method_prefix: str = ""
    """Only for methods whose id starts with this (e.g. `serviceusage.`)."""
    hint: str = ""
    """Appended to the error shown to the user."""
    only_in_propagation_window: bool = False
    """Retry only while an API this run just enabled may still be propagating."""
    until_deadline: bool = False
    """Eventual consistency (a state that settles on its own): retried until the call's
    deadline, not capped by `max_attempts`."""
    attempts: int = 0
    """At most this many attempts (0: the policy's `max_attempts`), for failures that are
    seldom passing: a few seconds of retries, then the error."""

    def matches(self, error: GoogleApiError, method: str, propagating: bool) -> bool:
        if self.statuses and error.http_status not in self.statuses:
            return False
        if self.reasons and error.reason not in self.reasons:
            return False
        if self.canonical and error.status not in self.canonical:
            return False
        if self.message_contains and self.message_contains.lower() not in error.message.lower():
            return False
        if self.message_equals and error.message.strip() != self.message_equals:
            return False
        if self.method_prefix and not method.startswith(self.method_prefix):
            return False
        return not (self.only_in_propagation_window and not propagating)


R, C, F = Verdict.RETRY, Verdict.CONFLICT, Verdict.FAIL

ENDPOINT_HINT = "is the endpoint right (--endpoint, PROVISION_ENDPOINT) and is it running?"

RULES: tuple[Rule, ...] = (
    Rule(
        R,
        "connection refused",
        statuses=(0,),
        reasons=(CONNECTION_REFUSED,),
        attempts=3,
        hint=f"nothing accepts connections there: {ENDPOINT_HINT}",
    ),
    Rule(
        R,
        "host name not found",
        statuses=(0,),
        reasons=(HOST_NOT_FOUND,),
        attempts=3,
        hint=f"the host name does not resolve: {ENDPOINT_HINT}",
    ),
    Rule(R, "connection reset or timed out", statuses=(0,), reasons=(TRANSPORT_REASON,)),
    Rule(
        R,
        "rate limit (per-minute quota); honours RetryInfo",
        statuses=(429, 403),
        reasons=("RATE_LIMIT_EXCEEDED", "rateLimitExceeded", "userRateLimitExceeded"),
    ),
    Rule(
        F,
        "quota exhausted (429 without a rate-limit reason)",
        statuses=(429,),
        hint="a quota is exhausted; retrying will not help for a long time - request more quota",
    ),
    Rule(R, "request timeout", statuses=(408,)),
    Rule(R, "server error", statuses=(500, 502, 503, 504)),
    Rule(
        R,
        "another service activation is in progress",
        statuses=(400,),
        message_contains="Another activation or deactivation is in progress",
    ),
    Rule(
        C,
        "BigQuery dataset changed since read (If-Match etag not met); restart read-modify-write",
        statuses=(412,),
        method_prefix="bigquery.datasets.",
    ),
    Rule(
        R,
        "sporadic Service Usage precondition failure",
        statuses=(400, 412),
        message_equals="Precondition check failed.",
    ),
    Rule(
        R,
        "Healthcare dataset still initialising",
        statuses=(404,),
        message_contains=("dataset not initialized"),
        until_deadline=True,
    ),
    Rule(
        C,
        "concurrent policy change (etag mismatch); restart read-modify-write",
        statuses=(409,),
        canonical=("ABORTED",),
    ),
    Rule(C, "concurrent policy change (etag mismatch)", statuses=(409,), reasons=("aborted",)),
    Rule(
        C,
        "Cloud Storage precondition (etag/generation) not met",
        statuses=(412,),
        reasons=("conditionNotMet",),
    ),
    Rule(
        F,
        "billing not enabled",
        reasons=("UREQ_PROJECT_BILLING_NOT_FOUND",),
        hint="link a billing account to the project: set project.billingAccount in the blueprint",
    ),
    Rule(
        R,
        "API enabled moments ago and still propagating",
        statuses=(403,),
        reasons=("SERVICE_DISABLED", "accessNotConfigured"),
        only_in_propagation_window=True,
        until_deadline=True,
    ),
    Rule(
        F,
        "API not enabled",
        statuses=(403,),
        reasons=("SERVICE_DISABLED", "accessNotConfigured"),
        hint="enable the API (list it under `services:` in the blueprint)",
    ),
    Rule(F, "not authenticated", statuses=(401,), hint="check the credentials in use"),
    Rule(F, "permission denied", statuses=(403,)),
    Rule(F, "invalid argument or failed precondition", statuses=(400,)),
    Rule(F, "not found", statuses=(404,)),
    Rule(F, "already exists", statuses=(409,)),
    Rule(F, "anything else"),
)


def classify(error: GoogleApiError, method: str = "", *, propagating: bool = False) -> Rule:
    """The first rule of `RULES` matching `error` raised by `method` (a discovery method id)."""
    for rule in RULES:
        if rule.matches(error, method, propagating):
            return rule
    return RULES[-1]


def backoff_delay(
    policy: RetryPolicy, attempt: int, rng: random.Random | Callable[[], float] | None = None
) -> float:
    """Full-jitter delay before retry number `attempt` (1-based)."""
    ceiling = min(policy.max_delay, policy.base_delay * policy.multiplier ** (attempt - 1))
    draw = rng.random() if isinstance(rng, random.Random) else (rng or random.random)()
    return ceiling * draw


def settle_delay(
    policy: RetryPolicy, elapsed: float, rng: random.Random | Callable[[], float] | None = None
) -> float:
    """The delay before asking again about a state that settles on its own, `elapsed` seconds
    after the first attempt: `settle_fraction` of it, at least `settle_min_delay`, at most
    `max_delay`, shortened by up to 10% at random."""
    base = min(policy.max_delay, max(policy.settle_min_delay, policy.settle_fraction * elapsed))
    draw = rng.random() if isinstance(rng, random.Random) else (rng or random.random)()
    return base * (0.9 + 0.1 * draw)


@dataclass(frozen=True)
class Attempt:
    """What `on_retry` is told before each sleep."""

    method: str
    attempt: int
    delay: float
    error: GoogleApiError
    rule: Rule


def call_with_retry(
    call: Callable[[], T],
    *,
    method: str,
    policy: RetryPolicy,
    cancel: threading.Event | None = None,
    propagating: Callable[[], bool] = lambda: False,
    on_retry: Callable[[Attempt], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Run `call` until it succeeds or its error is not retryable, within the policy's budget.

    `call` must raise GoogleApiError for failures. The final error carries the rule's hint.
    """
    start = clock()
    attempt = 0
    while True:
        attempt += 1
        try:
            return call()
        except GoogleApiError as error:
            rule = classify(error, method, propagating=propagating())
            if rule.verdict is not Verdict.RETRY:
                raise with_hint(error, rule.hint) from None
            if attempt >= (rule.attempts or policy.max_attempts) and not rule.until_deadline:
                gave_up = f"gave up after {attempt} attempts ({rule.why})"
                raise with_hint(
                    error, f"{rule.hint}; {gave_up}" if rule.hint else gave_up
                ) from None
            if rule.until_deadline:
                delay = settle_delay(policy, clock() - start)
            else:
                delay = backoff_delay(policy, attempt)
            server_delay = retry_delay(error)
            if server_delay is not None:
                delay = max(delay, server_delay)
            if clock() - start + delay > policy.deadline:
                raise with_hint(
                    error,
                    f"gave up after {attempt} attempts and {clock() - start:.1f}s ({rule.why})",
                ) from None
            if on_retry is not None:
                on_retry(Attempt(method, attempt, delay, error, rule))
            sleep(delay, cancel)


def sleep(seconds: float, cancel: threading.Event | None) -> None:
    """Sleep, waking early and raising `RunInterruptedError` when `cancel` is set."""
    if cancel is None:
        time.sleep(seconds)
        return
    if cancel.wait(seconds):
        raise RunInterruptedError("interrupted")


def with_hint(error: GoogleApiError, hint: str) -> GoogleApiError:
    """A copy of `error` whose message ends with `hint` (unchanged when there is none)."""
    if not hint or hint in error.message:
        return error
    return replace(error, message=f"{error.message} ({hint})")
