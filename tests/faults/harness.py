"""Shared machinery of the fault suite: the blueprint under test, the emulator's control plane,
a normalised dump of the emulated world, duplicate counting and the suite's figures.

The final state of an apply under faults must equal the state an undisturbed apply reaches;
"equal" is judged on `normalised_state`, which keeps every collection the emulator holds (so new
resource kinds are covered without changes here) and drops what legitimately differs between
runs: etags, timestamps, generations, operation records and the project number.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provision.emulator.server import RunningEmulator
from tests.e2e.cli import CliResult, run_cli

REPO = Path(__file__).resolve().parents[2]
PROJECT = "imaging-dev-4821"
"""The project `blueprints/dev.yaml` declares."""

# Collections that record how the world got where it is, not what it is.
_HISTORY = {"operations", "pending_grants", "storage_uploads"}
# Fields that differ between two runs reaching the same state.
_VOLATILE = re.compile(
    r"(?i)^(etag|_?created|updated|.*time|.*At|generation|metageneration|uniqueId|"
    r"oauth2ClientId|revision|timeCreated)$"
)
LEASES = "/provision-locks/"
"""Apply's single-writer lease objects (bookkeeping of runs, not desired state) contain this."""
WRITER_PREFIX = "user:concurrent-writer-"
"""Members added by the concurrent IAM writer start with this."""


def copy_dev_blueprint(tmp_path: Path) -> Path:
    """A copy of `blueprints/dev.yaml` with its site files, as the blueprint under test."""
    target = tmp_path / "blueprints"
    shutil.copytree(REPO / "blueprints", target)
    return target / "dev.yaml"


def control(emulator: RunningEmulator, action: str, body: Any = None) -> Any:
    """Call the emulator's control plane over HTTP (`POST /_emulator/ACTION`, or GET journal)."""
    method = "GET" if action == "journal" else "POST"
    request = urllib.request.Request(
        f"{emulator.base_url}/_emulator/{action}",
        data=None if method == "GET" else json.dumps(body or {}).encode(),
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def reset(emulator: RunningEmulator, **settings: Any) -> None:
    """Empty world, fresh journal, `settings` (including `seed`, which reseeds the fault dice)."""
    control(emulator, "reset", settings)


def journal(emulator: RunningEmulator) -> list[dict[str, Any]]:
    entries = control(emulator, "journal")
    assert isinstance(entries, list)
    return entries


def injected(entries: list[dict[str, Any]]) -> int:
    """How many requests had a fault injected (journal field `injected`)."""
    return sum(1 for entry in entries if entry.get("injected"))


def apply(blueprint: Path, emulator: RunningEmulator, *extra: str) -> CliResult:
    """`provision apply BLUEPRINT --yes` in-process against the emulator (fast retry timing)."""
    return run_cli(
        "apply", blueprint, "--yes", *extra, env={"PROVISION_ENDPOINT": emulator.base_url}
    )


def plan(blueprint: Path, emulator: RunningEmulator) -> CliResult:
    return run_cli(
        "plan", blueprint, "--detailed-exitcode", env={"PROVISION_ENDPOINT": emulator.base_url}
    )


# ----- the state dump


def raw_state(emulator: RunningEmulator) -> dict[str, dict[str, Any]]:
    """Every document of every collection the emulator holds, keyed by collection then key."""
    return emulator.world.store.documents()


def project_numbers(state: dict[str, dict[str, Any]]) -> list[str]:
    return sorted(str(doc["number"]) for doc in state.get("projects", {}).values())


def normalised_state(emulator: RunningEmulator) -> dict[str, Any]:
    """The world without history, volatile fields, project numbers or the concurrent writer's
    members; policies' bindings and members sorted, so equal states compare equal."""
    state = raw_state(emulator)
    numbers = project_numbers(state)
    cleaned: dict[str, Any] = {}
    for collection, docs in state.items():
        if collection in _HISTORY:
            continue
        cleaned[collection] = {key: _scrub(doc) for key, doc in docs.items() if LEASES not in key}
    text = json.dumps(cleaned, sort_keys=True)
    for index, number in enumerate(numbers):
        text = text.replace(number, f"<project-number-{index}>")
    result: dict[str, Any] = json.loads(text)
    for policy in result.get("policies", {}).values():
        policy["bindings"] = _sorted_bindings(policy.get("bindings", []))
    return result


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items() if not _VOLATILE.match(k)}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _sorted_bindings(bindings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kept = []
    for binding in bindings:
        members = sorted(m for m in binding.get("members", []) if not m.startswith(WRITER_PREFIX))
        if members:
            kept.append({**binding, "members": members})
    return sorted(kept, key=lambda b: (b["role"], json.dumps(b.get("condition"), sort_keys=True)))


def duplicates(emulator: RunningEmulator, baseline: dict[str, Any]) -> list[str]:
    """Duplicate objects: documents the undisturbed run did not make, bindings repeated for one
    (role, condition), members repeated in one binding, more than one project."""
    found: list[str] = []
    state = raw_state(emulator)
    for collection, docs in normalised_state(emulator).items():
        if collection in _HISTORY:
            continue
        extra = sorted(set(docs) - set(baseline.get(collection, {})))
        found.extend(f"{collection}:{key} (not made by an undisturbed run)" for key in extra)
    for name, policy in state.get("policies", {}).items():
        keys = Counter(
            (b["role"], json.dumps(b.get("condition"), sort_keys=True))
            for b in policy.get("bindings", [])
        )
        found.extend(f"policy {name}: binding {k[0]} x{n}" for k, n in keys.items() if n > 1)
        for binding in policy.get("bindings", []):
            counts = Counter(binding.get("members", []))
            found.extend(
                f"policy {name}: {binding['role']} member {m} x{n}"
                for m, n in counts.items()
                if n > 1
            )
    if len(state.get("projects", {})) > len(baseline.get("projects", {})):
        found.append("more projects than an undisturbed run makes")
    return found


def state_difference(actual: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """Human-readable differences between two normalised states (empty when equal)."""
    lines: list[str] = []
    for collection in sorted(set(actual) | set(expected)):
        have, want = actual.get(collection, {}), expected.get(collection, {})
        for key in sorted(set(have) | set(want)):
            if have.get(key) != want.get(key):
                lines.append(f"{collection}:{key}: {have.get(key)!r} != {want.get(key)!r}")
    return lines


# ----- figures


@dataclass
class Figures:
    """What the suite measured; printed at the end of the run and quoted in the README."""

    runs: int = 0
    faults_injected: int = 0
    kills: int = 0
    kills_survived: int = 0
    concurrent_bindings: int = 0
    bindings_lost: int = 0
    duplicate_objects: int = 0
    secrets_found: int = 0
    races: int = 0
    """Destroys raced by data written into what they remove."""
    data_lost: int = 0
    """Data written during such a race that was deleted (must stay 0)."""
    races_in_window: int = 0
    """Studies stored between destroy's last search of a store and its delete (deleted with
    it: Healthcare has no conditional delete)."""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self.lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def summary(self) -> str:
        return (
            f"runs {self.runs}, faults injected {self.faults_injected}, "
            f"kills survived {self.kills_survived}/{self.kills}, "
            f"concurrent bindings {self.concurrent_bindings} (lost {self.bindings_lost}), "
            f"duplicate objects {self.duplicate_objects}, secrets found {self.secrets_found}, "
            f"destroy races {self.races} (data lost {self.data_lost}, "
            f"{self.races_in_window} in the window)"
        )


FIGURES = Figures()
