"""Timing knobs of the Google access layer: retries, operation polling and pacing.

Every knob has a production default taken from Google's guidance (see README "Reliability") and
can be overridden by environment variables so tests and demos run fast:

  PROVISION_RETRY_BASE_DELAY   first retry delay cap in seconds (default 1.0)
  PROVISION_RETRY_MAX_DELAY    cap of one retry delay (default 32)
  PROVISION_RETRY_ATTEMPTS     attempts per call, at most 8 (default 8)
  PROVISION_RETRY_DEADLINE     seconds per call including retries (default 120)
  PROVISION_POLL_INITIAL       first (and shortest) poll delay for long-running operations
                               (default 0.1)
  PROVISION_POLL_FRACTION      later polls come after this fraction of the time waited so far
                               (default 0.09: an operation is noticed within 9% of its duration)
  PROVISION_POLL_MAX           poll delay cap (default 10)
  PROVISION_POLL_DEADLINE      seconds to wait for one operation (default 1200)
  PROVISION_PACING             `on` (default) or `off`: client-side quotas (writes and reads)
  PROVISION_HEALTHCARE_BATCH   `on` (default) or `off`: plan reads of Cloud Healthcare in batches
                               (its discovery document's `batchPath`; see gcp/api.BATCH_PATHS)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

MAX_ATTEMPTS_LIMIT = 8


@dataclass(frozen=True)
class RetryPolicy:
    """Truncated exponential backoff with full jitter for one API call."""

    base_delay: float = 1.0
    multiplier: float = 2.0
    max_delay: float = 32.0
    max_attempts: int = MAX_ATTEMPTS_LIMIT
    deadline: float = 120.0
    settle_fraction: float = 0.09
    """A state that settles on its own (an API still propagating, a dataset initialising) is
    asked about again after this fraction of the time waited so far (see
    `retry.settle_delay`)."""
    settle_min_delay: float = 0.2

    def __post_init__(self) -> None:
        if not 1 <= self.max_attempts <= MAX_ATTEMPTS_LIMIT:
            raise ValueError(f"max_attempts must be 1..{MAX_ATTEMPTS_LIMIT}")


@dataclass(frozen=True)
class PollPolicy:
    """Polling of long-running operations and eventual consistency in proportion to the time
    already waited (see `operations.poll_delays`)."""

    initial_delay: float = 0.1
    fraction: float = 0.09
    """The next poll comes after this fraction of the time waited so far: how late, relative to
    its duration, an operation may be noticed. Google documents no poll interval; TPG polls every
    10 s, which notices a 5-second operation up to 5 s late."""
    max_delay: float = 10.0
    deadline: float = 1200.0
    progress_every: float = 5.0
    """Seconds between progress reports for one wait."""

    def __post_init__(self) -> None:
        if not 0 < self.fraction <= 1:
            raise ValueError("the poll fraction must be in (0, 1]")


@dataclass(frozen=True)
class Quota:
    """A write quota: `per_minute` units, bursting to `burst` units."""

    per_minute: float
    burst: float


DEFAULT_QUOTAS: Mapping[str, Quota] = {
    # Service Usage: 60 write calls/min; a batchEnable costs 5.
    "serviceusage": Quota(per_minute=60, burst=15),
    # Resource Manager: 600 writes/min; CreateProject costs 10.
    "cloudresourcemanager": Quota(per_minute=600, burst=150),
    # IAM: 600 writes/min.
    "iam": Quota(per_minute=600, burst=150),
    # Cloud Billing: undocumented; budget like Resource Manager.
    "cloudbilling": Quota(per_minute=600, burst=150),
    # Cloud Storage: about one bucket create/delete every two seconds per project.
    "storage.buckets": Quota(per_minute=30, burst=1),
    # Cloud Healthcare: per-minute admin limits are not published; stay modest.
    "healthcare": Quota(per_minute=600, burst=60),
    # Cloud KMS: 60 write requests/min per project (cloud.google.com/kms/quotas).
    "cloudkms": Quota(per_minute=60, burst=15),
}


DEFAULT_READ_QUOTAS: Mapping[str, Quota] = {
    # Resource Manager: "read 10/s" per consumer project (resource-manager/docs/limits).
    "cloudresourcemanager": Quota(per_minute=600, burst=150),
    # Service Usage: 240 read-only calls/min (service-usage/docs/quotas); operations.get counts.
    "serviceusage": Quota(per_minute=240, burst=60),
    # IAM: 6,000 reads per project per minute (iam/quotas).
    "iam": Quota(per_minute=6000, burst=1500),
    # Cloud KMS: 300 read requests/min per project (kms/quotas).
    "cloudkms": Quota(per_minute=300, burst=75),
    # Cloud Healthcare and Cloud Storage publish no default read rate for the metadata reads a
    # plan makes (healthcare-api/quotas shows them only in the console): not paced.
}
"""Read quotas by API (the first part of a method id); a quarter of a minute's reads may go at
once, the rest at the quota's rate."""


@dataclass(frozen=True)
class PacingPolicy:
    enabled: bool = True
    quotas: Mapping[str, Quota] = field(default_factory=lambda: dict(DEFAULT_QUOTAS))
    """Write quotas by group (`pacing.WRITE_COSTS` names each paced write's group)."""
    read_quotas: Mapping[str, Quota] = field(default_factory=lambda: dict(DEFAULT_READ_QUOTAS))
    """Read quotas by API (`pacing.is_read` says which calls are reads)."""


@dataclass(frozen=True)
class Timing:
    """Everything time-related the access layer needs, in one value."""

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    poll: PollPolicy = field(default_factory=PollPolicy)
    pacing: PacingPolicy = field(default_factory=PacingPolicy)
    http_timeout: float = 60.0
    healthcare_batch: bool = True
    """Send Cloud Healthcare reads in batches where the plan reads many (whether Google serves
    Healthcare's batch endpoint is not documented; one that refuses is not asked again)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Timing:
        """Defaults overridden by the `PROVISION_*` variables documented above."""
        env = os.environ if environ is None else environ

        def number(name: str, default: float) -> float:
            text = env.get(name)
            if text is None or text == "":
                return default
            try:
                return float(text)
            except ValueError:
                raise ValueError(f"{name} must be a number, not {text!r}") from None

        retry = RetryPolicy(
            base_delay=number("PROVISION_RETRY_BASE_DELAY", 1.0),
            max_delay=number("PROVISION_RETRY_MAX_DELAY", 32.0),
            max_attempts=int(number("PROVISION_RETRY_ATTEMPTS", MAX_ATTEMPTS_LIMIT)),
            deadline=number("PROVISION_RETRY_DEADLINE", 120.0),
        )
        poll = PollPolicy(
            initial_delay=number("PROVISION_POLL_INITIAL", 0.1),
            fraction=number("PROVISION_POLL_FRACTION", 0.09),
            max_delay=number("PROVISION_POLL_MAX", 10.0),
            deadline=number("PROVISION_POLL_DEADLINE", 1200.0),
        )

        def flag(name: str) -> bool:
            return env.get(name, "on").strip().lower() not in ("off", "0", "false", "no")

        pacing = PacingPolicy(enabled=flag("PROVISION_PACING"))
        return cls(
            retry=retry,
            poll=poll,
            pacing=pacing,
            healthcare_batch=flag("PROVISION_HEALTHCARE_BATCH"),
        )


FAST_TIMING = Timing(
    retry=RetryPolicy(base_delay=0.01, max_delay=0.05, deadline=10.0),
    poll=PollPolicy(initial_delay=0.01, max_delay=0.05, deadline=10.0),
    pacing=PacingPolicy(enabled=False),
)
"""For tests: the same logic with millisecond delays."""
