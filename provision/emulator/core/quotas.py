"""Google's default rate quotas as token buckets, per API and per consumer project.

Enforced by the app for every routed request when the `quotas` setting is on: each rule that
matches the route (API, method id, read or write) takes `cost` tokens from the consumer's bucket
for that limit; when any bucket lacks tokens the request is answered 429 RATE_LIMIT_EXCEEDED
(with RetryInfo saying when enough tokens will be back) and nothing is charged.

API packages may add rules for their own limits with `register()`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from provision.emulator.core.errors import ApiError, rate_limited


@dataclass(frozen=True)
class QuotaLimit:
    service: str
    """e.g. `serviceusage.googleapis.com`."""
    metric: str
    """e.g. `serviceusage.googleapis.com/mutate_requests`."""
    metric_title: str
    """e.g. `Mutate requests` (quoted in the message)."""
    limit_name: str
    """e.g. `MutateRequestsPerMinutePerProject`; also the key of the `quota_limits` setting."""
    limit_title: str
    """e.g. `Mutate requests per minute` (quoted in the message)."""
    limit: float
    """Tokens per window."""
    window_s: float = 60.0
    message: str | None = None
    """A fixed message instead of the generic "Quota exceeded for quota metric ..."."""


@dataclass(frozen=True)
class QuotaRule:
    api: str
    """Route API short name, e.g. `serviceusage`."""
    limit: QuotaLimit
    mutating: bool | None = None
    """Only writes (True), only reads (False), or both (None)."""
    method_ids: frozenset[str] | None = None
    """Only these method ids (None = every method of the API)."""
    costs: Mapping[str, int] = field(default_factory=dict)
    """Method id -> tokens taken (default 1)."""

    def applies(self, api: str, method_id: str, mutating: bool) -> bool:
        if api != self.api:
            return False
        if self.mutating is not None and self.mutating != mutating:
            return False
        return self.method_ids is None or method_id in self.method_ids

    def cost(self, method_id: str) -> int:
        return int(self.costs.get(method_id, 1))


def _per_minute(
    service: str, kind: str, title: str, limit: float, *, prefix: str | None = None
) -> QuotaLimit:
    words = title.split()
    camel = "".join(word.capitalize() for word in words)
    return QuotaLimit(
        service=service,
        metric=f"{service}/{prefix or kind}_requests",
        metric_title=title,
        limit_name=f"{camel}PerMinutePerProject",
        limit_title=f"{title} per minute",
        limit=limit,
    )


_CRM = "cloudresourcemanager.googleapis.com"
_SU = "serviceusage.googleapis.com"
_IAM = "iam.googleapis.com"

RULES: list[QuotaRule] = [
    # Resource Manager: reads 10/s, writes 10/s; "The CreateProject operation costs 10".
    QuotaRule(
        "cloudresourcemanager",
        _per_minute(_CRM, "read", "Read requests", 600),
        mutating=False,
    ),
    QuotaRule(
        "cloudresourcemanager",
        _per_minute(_CRM, "write", "Write requests", 600),
        mutating=True,
        costs={"projects.create": 10},
    ),
    # Service Usage: 240 reads/min; 60 writes/min, a batchEnable counts as 5.
    QuotaRule("serviceusage", _per_minute(_SU, "read", "Read requests", 240), mutating=False),
    QuotaRule(
        "serviceusage",
        _per_minute(_SU, "write", "Mutate requests", 60, prefix="mutate"),
        mutating=True,
        costs={"services.batchEnable": 5},
    ),
    # IAM: 6,000 reads and 600 writes per project per minute.
    QuotaRule("iam", _per_minute(_IAM, "read", "Read requests", 6000), mutating=False),
    QuotaRule("iam", _per_minute(_IAM, "write", "Write requests", 600), mutating=True),
    # Cloud Storage: bucket creation and deletion, about one request every two seconds.
    QuotaRule(
        "storage",
        QuotaLimit(
            service="storage.googleapis.com",
            metric="storage.googleapis.com/bucket_create_delete_requests",
            metric_title="Bucket create and delete requests",
            limit_name="BucketCreateDeleteRequestsPerTwoSecondsPerProject",
            limit_title="Bucket create and delete requests per two seconds",
            limit=1,
            window_s=2.0,
            message="The project exceeded the rate limit for creating and deleting buckets.",
        ),
        method_ids=frozenset({"buckets.insert", "buckets.delete"}),
    ),
]


def register(rule: QuotaRule) -> None:
    """Add a rule (idempotent: an equal rule is not added twice)."""
    if rule not in RULES:
        RULES.append(rule)


class QuotaLedger:
    """Token buckets keyed by (limit name, service, consumer); time is passed in by the caller."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str, str], tuple[float, float]] = {}

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()

    def charge(
        self,
        api: str,
        method_id: str,
        mutating: bool,
        consumer: str,
        now: float,
        overrides: Mapping[str, float] | None = None,
    ) -> ApiError | None:
        """Take the tokens this request costs; or, if any limit is exhausted, the 429 to send
        (and take nothing). `consumer` is a project number (or id when unknown)."""
        overrides = overrides or {}
        with self._lock:
            takes: list[tuple[tuple[str, str, str], float, float]] = []
            for rule in RULES:
                if not rule.applies(api, method_id, mutating):
                    continue
                quota = rule.limit
                limit = float(overrides.get(quota.limit_name, quota.limit))
                rate = limit / quota.window_s
                key = (quota.limit_name, quota.service, consumer)
                tokens, last = self._buckets.get(key, (limit, now))
                tokens = min(limit, tokens + max(0.0, now - last) * rate)
                cost = float(rule.cost(method_id))
                if tokens < cost:
                    wait = (cost - tokens) / rate if rate > 0 else quota.window_s
                    return _exceeded(quota, consumer, limit, wait)
                takes.append((key, tokens - cost, now))
            for key, tokens, when in takes:
                self._buckets[key] = (tokens, when)
        return None


def _exceeded(quota: QuotaLimit, consumer: str, limit: float, wait: float) -> ApiError:
    return rate_limited(
        quota.service,
        consumer,
        quota.metric,
        quota.limit_name,
        int(limit),
        metric_title=quota.metric_title,
        limit_title=quota.limit_title,
        retry_delay_s=max(1, math.ceil(wait)),
        message=quota.message,
    )
