"""Fault injection: seeded, so a failing run can be replayed with the same `--seed`."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass

from provision.emulator.core.errors import (
    HTTP_FOR_STATUS,
    ApiError,
    aborted_concurrent_policy_change,
    rate_limited,
)
from provision.emulator.core.settings import EmulatorSettings, FaultRule, per_method

RESET = 0
"""Pseudo status meaning "drop the connection"."""


@dataclass(frozen=True)
class Fault:
    status: int
    after_commit: bool
    rule: int | None = None
    """Index of the rule that chose it (None for `error_rate` / `errors_after_commit`)."""


class Faults:
    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        with self._lock:
            self._random = random.Random(seed)
            self._fired: dict[int, int] = {}

    def new_rules(self) -> None:
        """The rules were replaced: every rule's `times` counts from zero again."""
        with self._lock:
            self._fired = {}

    def delay(self, settings: EmulatorSettings, method: str = "") -> None:
        """Sleep the configured latency of `method` (`api.method_id`: `method_latency_ms`, else
        `latency_ms`), plus jitter, outside any lock, so requests overlap as on the wire."""
        latency = settings.latency_ms
        if settings.method_latency_ms:
            latency = per_method(settings.method_latency_ms, method, latency)
        if latency <= 0 and settings.latency_jitter_ms <= 0:
            return
        with self._lock:
            jitter = self._random.uniform(0, settings.latency_jitter_ms)
        time.sleep((latency + jitter) / 1000.0)

    def choose(
        self, settings: EmulatorSettings, api: str, method_id: str, mutating: bool
    ) -> Fault | None:
        """The fault to inject into this request, if any."""
        with self._lock:
            for index, rule in enumerate(settings.rules):
                if not _matches(rule, api, method_id, mutating):
                    continue
                if rule.times is not None and self._fired.get(index, 0) >= rule.times:
                    continue
                if self._random.random() < rule.probability:
                    self._fired[index] = self._fired.get(index, 0) + 1
                    return Fault(rule.status, rule.after_commit and mutating, index)
            if settings.error_rate > 0 and self._random.random() < settings.error_rate:
                return Fault(self._random.choice(settings.error_codes), after_commit=False)
            if (
                mutating
                and settings.errors_after_commit > 0
                and self._random.random() < settings.errors_after_commit
            ):
                return Fault(self._random.choice(settings.error_codes), after_commit=True)
        return None

    def not_injected(self, fault: Fault) -> None:
        """`fault` was not injected after all (the request failed on its own before the
        after-commit error): it does not count against its rule's `times`."""
        if fault.rule is None:
            return
        with self._lock:
            self._fired[fault.rule] = max(0, self._fired.get(fault.rule, 0) - 1)


def _matches(rule: FaultRule, api: str, method_id: str, mutating: bool) -> bool:
    if rule.mutating_only and not mutating:
        return False
    if rule.api not in ("*", api):
        return False
    if rule.method_id == "*":
        return True
    if rule.method_id.endswith("*"):
        return method_id.startswith(rule.method_id[:-1])
    return rule.method_id == method_id


def injected_error(status: int, api: str) -> ApiError:
    """The Google error for an injected status code."""
    if status == 429:
        return rate_limited(
            f"{api}.googleapis.com",
            "projects/0",
            f"{api}.googleapis.com/default_requests",
            "DefaultRequestsPerMinutePerProject",
            600,
        )
    if status == 409:
        return aborted_concurrent_policy_change()
    messages = {
        500: ("INTERNAL", "Internal error encountered."),
        502: ("UNAVAILABLE", "Bad Gateway"),
        503: ("UNAVAILABLE", "The service is currently unavailable."),
        504: ("DEADLINE_EXCEEDED", "The request timed out."),
    }
    canonical = next((name for name, code in HTTP_FOR_STATUS.items() if code == status), "UNKNOWN")
    status_name, message = messages.get(status, (canonical, f"Injected error {status}."))
    return ApiError(status_name, message, http=status)
