"""Client-side pacing of writes so Google's documented default quotas never answer 429.

One token bucket per quota group (see `settings.DEFAULT_QUOTAS`); `WRITE_COSTS` says which
methods are writes, which group they draw from and what they cost. Reads are not paced.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from provision.gcp.methods import (
    BILLING_INFO,
    BUCKETS,
    DATASETS,
    DICOM_STORES,
    PROJECTS,
    ROLES,
    SERVICE_ACCOUNTS,
    SERVICES,
)
from provision.gcp.retry import sleep
from provision.gcp.settings import PacingPolicy, Quota


@dataclass(frozen=True)
class Cost:
    group: str
    units: float = 1.0


def _writes(prefix: str, verbs: str, cost: Cost) -> dict[str, Cost]:
    return {f"{prefix}.{verb}": cost for verb in verbs.split()}


WRITE_COSTS: Mapping[str, Cost] = {
    **_writes(SERVICES, "enable disable generateServiceIdentity", Cost("serviceusage")),
    f"{SERVICES}.batchEnable": Cost("serviceusage", 5),
    f"{PROJECTS}.create": Cost("cloudresourcemanager", 10),
    **_writes(PROJECTS, "patch delete setIamPolicy", Cost("cloudresourcemanager")),
    f"{BILLING_INFO}.updateBillingInfo": Cost("cloudbilling"),
    **_writes(SERVICE_ACCOUNTS, "create delete setIamPolicy", Cost("iam")),
    **_writes(ROLES, "create patch undelete", Cost("iam")),
    **_writes(BUCKETS, "insert delete", Cost("storage.buckets")),
    **_writes(DATASETS, "create delete patch setIamPolicy", Cost("healthcare")),
    **_writes(DICOM_STORES, "create delete patch setIamPolicy import", Cost("healthcare")),
}
"""The paced writes: method id -> quota group and units."""


class TokenBucket:
    """`burst` tokens at most, refilled continuously so a minute never exceeds `per_minute`.

    The refill rate is `(per_minute - burst) / 60` per second, so a full burst plus a minute of
    refill stays within the quota even under a sliding one-minute window.
    """

    def __init__(self, quota: Quota, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = max(quota.burst, 1.0)
        self.rate = max(quota.per_minute - self.capacity, 1.0) / 60.0
        self._tokens = self.capacity
        self._clock = clock
        self._stamp = clock()
        self._lock = threading.Lock()

    def reserve(self, units: float) -> float:
        """Take `units` tokens (possibly going into debt); return seconds to wait before use."""
        units = min(units, self.capacity)
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= units
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate


class Pacer:
    """Blocks a write until its quota group has budget for it."""

    def __init__(self, policy: PacingPolicy, cancel: threading.Event | None = None) -> None:
        self.policy = policy
        self._cancel = cancel
        self._buckets = {group: TokenBucket(quota) for group, quota in policy.quotas.items()}

    def before(self, method: str) -> float:
        """Wait as needed before calling `method`; returns the seconds waited."""
        if not self.policy.enabled:
            return 0.0
        cost = WRITE_COSTS.get(method)
        if cost is None:
            return 0.0
        bucket = self._buckets.get(cost.group)
        if bucket is None:
            return 0.0
        wait = bucket.reserve(cost.units)
        if wait > 0:
            sleep(wait, self._cancel)
        return wait
