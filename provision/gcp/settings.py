"""Timing knobs of the Google access layer: retries, operation polling and write pacing.

Every knob has a production default taken from Google's guidance (see README "Reliability") and
can be overridden by environment variables so tests and demos run fast:

  PROVISION_RETRY_BASE_DELAY   first retry delay cap in seconds (default 1.0)
  PROVISION_RETRY_MAX_DELAY    cap of one retry delay (default 32)
  PROVISION_RETRY_ATTEMPTS     attempts per call, at most 8 (default 8)
  PROVISION_RETRY_DEADLINE     seconds per call including retries (default 120)
  PROVISION_POLL_INITIAL       first poll delay for long-running operations (default 0.25)
  PROVISION_POLL_MAX           poll delay cap (default 10)
  PROVISION_POLL_DEADLINE      seconds to wait for one operation (default 1200)
  PROVISION_PACING             `on` (default) or `off`: client-side write quotas
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

    def __post_init__(self) -> None:
        if not 1 <= self.max_attempts <= MAX_ATTEMPTS_LIMIT:
            raise ValueError(f"max_attempts must be 1..{MAX_ATTEMPTS_LIMIT}")


@dataclass(frozen=True)
class PollPolicy:
    """Capped exponential polling of long-running operations and eventual consistency."""

    initial_delay: float = 0.25
    multiplier: float = 1.5
    max_delay: float = 10.0
    deadline: float = 1200.0
    progress_every: float = 5.0
    """Seconds between progress reports for one wait."""


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


@dataclass(frozen=True)
class PacingPolicy:
    enabled: bool = True
    quotas: Mapping[str, Quota] = field(default_factory=lambda: dict(DEFAULT_QUOTAS))


@dataclass(frozen=True)
class Timing:
    """Everything time-related the access layer needs, in one value."""

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    poll: PollPolicy = field(default_factory=PollPolicy)
    pacing: PacingPolicy = field(default_factory=PacingPolicy)
    http_timeout: float = 60.0

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
            initial_delay=number("PROVISION_POLL_INITIAL", 0.25),
            max_delay=number("PROVISION_POLL_MAX", 10.0),
            deadline=number("PROVISION_POLL_DEADLINE", 1200.0),
        )
        pacing_flag = env.get("PROVISION_PACING", "on").strip().lower()
        pacing = PacingPolicy(enabled=pacing_flag not in ("off", "0", "false", "no"))
        return cls(retry=retry, poll=poll, pacing=pacing)


FAST_TIMING = Timing(
    retry=RetryPolicy(base_delay=0.01, max_delay=0.05, deadline=10.0),
    poll=PollPolicy(initial_delay=0.01, multiplier=1.5, max_delay=0.05, deadline=10.0),
    pacing=PacingPolicy(enabled=False),
)
"""For tests: the same logic with millisecond delays."""
