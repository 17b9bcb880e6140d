"""Replay exchanges recorded against real Google (tests/golden/) against the emulator: the same
requests, in order, must get the same status codes and answers of the same shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from provision.emulator.iam import models as iam_models
from provision.emulator.server import RunningEmulator
from tests.emulator.seeding import BILLING_ACCOUNT, seed_project
from tests.golden.replay import replay

RECORDED = Path(__file__).resolve().parents[1] / "golden" / "recorded"
CASES = sorted(RECORDED.glob("*.http.log"))
VALUES = {
    "uniqueId": "gr7x2k",
    "projectId": "golden-replay",
    "organizationID": "123456789012",
    "folderID": "987654321098",
    "billingAccountID": BILLING_ACCOUNT.removeprefix("billingAccounts/"),
}
CASE_SETTINGS: dict[str, dict[str, Any]] = {
    # Recorded by an identity with organization-level roles: Google gave it no owner binding on
    # the projects it created, so their policies start empty.
    "iam__iampartialpolicy__resources__project": {"caller": ""},
    "iam__iampartialpolicy__resources__project-conditions": {"caller": ""},
}
ELSEWHERE = (
    "Google took the v1 parent id 'organizations/N' literally and answered this create's "
    "operation with v3 types (parent 'organizations/organizations/N'); the emulator reads the "
    "id as N and answers with v1 types, as Google did for a plain id"
)
KNOWN: dict[str, dict[int, str]] = {
    "iam__iampartialpolicy__resources__project": {3: ELSEWHERE},
    "iam__iampartialpolicy__resources__project-conditions": {3: ELSEWHERE},
    "basic__storage__storagebucket__storagebucketbasic": {
        6: "the recorded bucket held folders made outside the recording ('prefixes')"
    },
}
"""Exchanges whose difference comes from the recording's surroundings, not the emulator; each
must still differ (or the entry goes)."""
SERVICES = (
    "iam.googleapis.com",
    "storage.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudkms.googleapis.com",
    "pubsub.googleapis.com",
)
"""The APIs enabled on the project each recording ran in."""


@pytest.mark.parametrize("path", CASES, ids=[case.name.removesuffix(".http.log") for case in CASES])
def test_the_emulator_answers_as_google_did(emulator: RunningEmulator, path: Path) -> None:
    emulator.world.configure(CASE_SETTINGS.get(path.name.removesuffix(".http.log"), {}))
    if path.name.startswith("iam__iampartialpolicy"):  # members that existed where it was recorded
        seed_project(emulator.world, "test-project", services=("iam.googleapis.com",))
        iam_models.create(emulator.world, "test-project", {"accountId": "test-sa"})
    if not path.name.startswith("live__"):  # a live run creates its own project
        seed_project(emulator.world, VALUES["projectId"], services=SERVICES)
    known = KNOWN.get(path.name.removesuffix(".http.log"), {})
    differences = replay(emulator, path, VALUES)
    unexplained = [d for d in differences if _number(d) not in known]
    assert unexplained == [], "\n".join(unexplained)
    assert {_number(d) for d in differences} >= set(known), "a known difference is gone"


def _number(difference: str) -> int:
    return int(difference.split(" ", 1)[0].removeprefix("#"))


def test_the_replay_notices_a_difference(emulator: RunningEmulator, tmp_path: Path) -> None:
    recorded = (RECORDED / "storage__bucket.http.log").read_text(encoding="utf-8")
    altered = tmp_path / "altered.http.log"
    altered.write_text(recorded.replace('"rpo": "DEFAULT",', '"rpo": "DEFAULT", "zone": "x",', 1))
    seed_project(emulator.world, VALUES["projectId"], services=SERVICES)
    assert replay(emulator, altered, VALUES) == [
        "#1 POST /storage/v1/b: zone: Google sends it, the emulator does not"
    ]
