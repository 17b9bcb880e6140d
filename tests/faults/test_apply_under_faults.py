"""`provision apply` of the dev blueprint under injected faults ends in exactly the state an
undisturbed apply reaches, with no duplicate objects and no lost concurrent IAM bindings.

Every scenario is seeded (the emulator's fault dice and the concurrent writer), so a failure
replays with the same seed. One seed of each scenario runs in `make test`; the rest of the matrix
is marked slow and runs with `make faults`.
"""

from __future__ import annotations

import random
import threading
from pathlib import Path
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from googleapiclient import discovery
from googleapiclient.errors import HttpError

from provision.emulator.server import RunningEmulator
from tests.faults import harness
from tests.faults.conftest import Baseline

TRANSIENT = [500, 502, 503, 504, 429]


def seeds(fast: list[int], slow: list[int]) -> list[Any]:
    """`fast` seeds run always; `slow` ones only in the full matrix."""
    return [*fast, *(pytest.param(s, marks=pytest.mark.slow) for s in slow)]


def assert_converged(
    emulator: RunningEmulator, blueprint: Path, baseline: Baseline, result: Any
) -> int:
    """The apply succeeded, the world equals the undisturbed one, nothing is duplicated and a
    fresh plan (faults off) has nothing to do. Returns the number of injected faults."""
    assert result.exit_code == 0, result.output
    entries = harness.journal(emulator)
    faults = harness.injected(entries)
    control_off = {"error_rate": 0.0, "errors_after_commit": 0.0, "rules": [], "latency_ms": 0}
    harness.control(emulator, "settings", control_off)
    difference = harness.state_difference(harness.normalised_state(emulator), baseline.state)
    assert difference == [], "\n".join(difference)
    duplicated = harness.duplicates(emulator, baseline.state)
    harness.FIGURES.add(runs=1, faults_injected=faults, duplicate_objects=len(duplicated))
    assert duplicated == []
    again = harness.plan(blueprint, emulator)
    assert again.exit_code == 0, again.output
    return faults


@pytest.mark.parametrize("seed", seeds([1], [2, 3, 4, 5, 6, 7, 8]))
def test_random_transient_errors_at_20_percent(
    seed: int, emulator: RunningEmulator, blueprint: Path, baseline: Baseline
) -> None:
    """One request in five fails before doing anything with 500/502/503/504 or 429."""
    harness.reset(emulator, seed=seed, error_rate=0.2, error_codes=TRANSIENT)
    result = harness.apply(blueprint, emulator)
    faults = assert_converged(emulator, blueprint, baseline, result)
    assert faults > 0


@pytest.mark.parametrize(
    "status",
    [503, pytest.param(0, marks=pytest.mark.slow), pytest.param(500, marks=pytest.mark.slow)],
)
def test_every_write_commits_then_fails_once(
    status: int, emulator: RunningEmulator, blueprint: Path, baseline: Baseline
) -> None:
    """Each write method the apply uses commits and then answers `status` (0 = connection
    reset) once: the retry must adopt what was made, never make it twice or fail."""
    rules = [
        {"api": api, "method_id": method, "status": status, "after_commit": True, "times": 1}
        for api, method in baseline.writes
    ]
    harness.reset(emulator, rules=rules)
    result = harness.apply(blueprint, emulator)
    assert_converged(emulator, blueprint, baseline, result)
    after_commit = {
        (e["api"], e["method_id"])
        for e in harness.journal(emulator)
        if str(e.get("injected", "")).startswith("after-commit")
    }
    assert after_commit == set(baseline.writes)


@pytest.mark.parametrize("seed", seeds([11], [12, 13, 14, 15]))
def test_connection_resets(
    seed: int, emulator: RunningEmulator, blueprint: Path, baseline: Baseline
) -> None:
    """Connections reset before 10% of requests and after 10% of committed writes."""
    harness.reset(emulator, seed=seed, error_rate=0.1, error_codes=[0], errors_after_commit=0.1)
    result = harness.apply(blueprint, emulator)
    assert_converged(emulator, blueprint, baseline, result)


class ConcurrentWriter(threading.Thread):
    """Adds random bindings to the project's policy with the plain Google client, with an etag
    read-modify-write of its own, every `every` (min, max) seconds until stopped. `written`
    holds each (role, member) it got in."""

    ROLES = ("roles/viewer", "roles/browser", "roles/logging.viewer", "roles/monitoring.viewer")

    def __init__(
        self, emulator: RunningEmulator, seed: int, every: tuple[float, float] = (0.002, 0.02)
    ) -> None:
        super().__init__(name="concurrent-iam-writer", daemon=True)
        self.every = every
        self.random = random.Random(seed)
        self.seed = seed
        self.stop = threading.Event()
        self.written: list[tuple[str, str]] = []
        self.conflicts = 0
        self.crm = discovery.build(
            "cloudresourcemanager",
            "v3",
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            static_discovery=True,
            client_options={"api_endpoint": emulator.base_url + "/"},
        )

    def run(self) -> None:
        resource = f"projects/{harness.PROJECT}"
        while not self.stop.wait(self.random.uniform(*self.every)):
            role = self.random.choice(self.ROLES)
            member = f"{harness.WRITER_PREFIX}{self.seed}-{len(self.written)}@example.com"
            try:
                policy = (
                    self.crm.projects()
                    .getIamPolicy(
                        resource=resource, body={"options": {"requestedPolicyVersion": 3}}
                    )
                    .execute()
                )
                bindings = policy.setdefault("bindings", [])
                for binding in bindings:
                    if binding["role"] == role and "condition" not in binding:
                        binding["members"].append(member)
                        break
                else:
                    bindings.append({"role": role, "members": [member]})
                self.crm.projects().setIamPolicy(
                    resource=resource, body={"policy": policy}
                ).execute()
            except HttpError as error:
                # 403: the project does not exist yet; 409: the tool wrote in between
                self.conflicts += int(error.resp.status == 409)
                continue
            self.written.append((role, member))


CONFLICTS = [
    {"api": api, "method_id": method, "status": 409, "probability": 0.3}
    for api, method in (
        ("cloudresourcemanager", "projects.setIamPolicy"),
        ("healthcare", "projects.locations.datasets.dicomStores.setIamPolicy"),
        ("storage", "buckets.setIamPolicy"),
    )
]
"""409 ABORTED on 30% of setIamPolicy calls (the writer's and the tool's)."""


@pytest.mark.parametrize(
    ("seed", "conflicts"),
    [
        (21, False),
        *(pytest.param(s, False, marks=pytest.mark.slow) for s in (22, 23, 24, 25, 26)),
        *(pytest.param(s, True, marks=pytest.mark.slow) for s in (31, 32, 33, 34, 35)),
    ],
)
def test_concurrent_iam_writer_loses_nothing(
    seed: int, conflicts: bool, emulator: RunningEmulator, blueprint: Path, baseline: Baseline
) -> None:
    """While apply runs, another client keeps adding bindings to the same project policy; the
    tool's read-modify-write must keep every one of them and still make its own (also with
    injected 409 conflicts on 30% of policy writes)."""
    harness.reset(emulator, seed=seed, latency_ms=10, rules=CONFLICTS if conflicts else [])
    # with injected conflicts, the writer keeps to the pace of the reliability target (every
    # 50-200 ms): faster, the two together outlast the tool's bounded read-modify-write retries
    writer = ConcurrentWriter(emulator, seed, (0.05, 0.2) if conflicts else (0.002, 0.02))
    writer.start()
    try:
        result = harness.apply(blueprint, emulator)
    finally:
        writer.stop.set()
        writer.join(timeout=10)
    state = harness.raw_state(emulator)
    number = harness.project_numbers(state)[0]
    policy = state["policies"][f"projects/{number}"]
    present = {(b["role"], m) for b in policy["bindings"] for m in b["members"]}
    lost = [pair for pair in writer.written if pair not in present]
    harness.FIGURES.add(concurrent_bindings=len(writer.written), bindings_lost=len(lost))
    project_409s = [
        e
        for e in harness.journal(emulator)
        if e["method_id"] == "projects.setIamPolicy" and e["status"] == 409
    ]
    print(f"writer: {len(writer.written)} bindings; project policy 409s: {len(project_409s)}")
    assert lost == []
    assert_converged(emulator, blueprint, baseline, result)


@pytest.mark.parametrize("seed", seeds([41], [42, 43, 44, 45]))
def test_concurrent_iam_writer_during_an_iam_change(
    seed: int, emulator: RunningEmulator, blueprint: Path, baseline: Baseline
) -> None:
    """The project exists and the writer is busy from the start while apply adds members to a
    role the writer also adds to, and a new role: both sides' bindings survive."""
    harness.reset(emulator, seed=seed, latency_ms=5)
    assert harness.apply(blueprint, emulator).exit_code == 0
    text = blueprint.read_text(encoding="utf-8")
    changed = text.replace(
        "      - group:imaging-team@example.com\n",
        "      - group:imaging-team@example.com\n      - user:new-viewer@example.com\n"
        "  - role: roles/browser\n    members:\n      - group:browsers@example.com\n",
        1,
    )
    assert changed != text
    blueprint.write_text(changed, encoding="utf-8")
    writer = ConcurrentWriter(emulator, seed)
    writer.start()
    try:
        result = harness.apply(blueprint, emulator)
    finally:
        writer.stop.set()
        writer.join(timeout=10)
    assert result.exit_code == 0, result.output
    state = harness.raw_state(emulator)
    policy = state["policies"][f"projects/{harness.project_numbers(state)[0]}"]
    present = {(b["role"], m) for b in policy["bindings"] for m in b["members"]}
    lost = [pair for pair in writer.written if pair not in present]
    harness.FIGURES.add(
        runs=2,
        concurrent_bindings=len(writer.written),
        bindings_lost=len(lost),
        faults_injected=harness.injected(harness.journal(emulator)),
    )
    assert lost == []
    assert writer.written
    assert {
        ("roles/viewer", "user:new-viewer@example.com"),
        ("roles/browser", "group:browsers@example.com"),
    } <= present
    duplicated = harness.duplicates(emulator, baseline.state)
    harness.FIGURES.add(duplicate_objects=len(duplicated))
    assert duplicated == []
    harness.control(emulator, "settings", {"latency_ms": 0})
    assert harness.plan(blueprint, emulator).exit_code == 0
