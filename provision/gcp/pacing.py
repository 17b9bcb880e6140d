"""Client-side pacing so Google's documented default quotas never answer 429.

Writes: one token bucket per quota group (see `settings.DEFAULT_QUOTAS`); `WRITE_COSTS` says
which methods are writes, which group they draw from and what they cost. Reads (`is_read`): one
bucket per API with a documented read quota (`settings.DEFAULT_READ_QUOTAS`), one unit each.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from provision.gcp.methods import (
    BILLING_INFO,
    BUCKETS,
    CRYPTO_KEYS,
    DATASETS,
    DICOM_STORES,
    KEY_RINGS,
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
    **_writes(KEY_RINGS, "create", Cost("cloudkms")),
    **_writes(CRYPTO_KEYS, "create patch setIamPolicy", Cost("cloudkms")),
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


READ_VERBS = ("get", "list", "search", "batchGet", "testIamPermissions")
"""A method whose last part starts with one of these is a read (`getIamPolicy` included, as
Resource Manager counts it; `operations.get` too)."""


def is_read(method: str) -> bool:
    """Whether `method` (a discovery method id) reads and does not write."""
    return method not in WRITE_COSTS and method.rpartition(".")[2].startswith(READ_VERBS)


class Pacer:
    """Blocks a call until its quota (its write group, or its API's reads) has budget for it."""

    def __init__(self, policy: PacingPolicy, cancel: threading.Event | None = None) -> None:
        self.policy = policy
        self._cancel = cancel
        buckets = {group: TokenBucket(quota) for group, quota in policy.quotas.items()}
        reads = {api: TokenBucket(quota) for api, quota in policy.read_quotas.items()}
        self._by_method: dict[str, tuple[TokenBucket, float] | None] = {}
        self._buckets = buckets
        self._reads = reads

    def _bucket(self, method: str) -> tuple[TokenBucket, float] | None:
        """The bucket `method` draws from and its cost (None when not paced); looked up once
        per method."""
        if method not in self._by_method:
            cost = WRITE_COSTS.get(method)
            if cost is not None:
                bucket = self._buckets.get(cost.group)
                found = None if bucket is None else (bucket, cost.units)
            else:
                read = self._reads.get(method.partition(".")[0]) if is_read(method) else None
                found = None if read is None else (read, 1.0)
            self._by_method[method] = found
        return self._by_method[method]

    def before(self, method: str) -> float:
        """Wait as needed before calling `method`; returns the seconds waited."""
        if not self.policy.enabled:
            return 0.0
        paced = self._bucket(method)
        if paced is None:
            return 0.0
        bucket, units = paced
        wait = bucket.reserve(units)
        if wait > 0:
            sleep(wait, self._cancel)
        return wait
