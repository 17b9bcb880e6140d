"""Replay exchanges recorded against real Google (tests/golden/) against the emulator: the same
requests, in order, must get the same status codes and answers of the same shape."""

from __future__ import annotations

from pathlib import Path

import pytest

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
SERVICES = ("iam.googleapis.com", "storage.googleapis.com", "cloudresourcemanager.googleapis.com")


@pytest.mark.parametrize("path", CASES, ids=[case.name.removesuffix(".http.log") for case in CASES])
def test_the_emulator_answers_as_google_did(emulator: RunningEmulator, path: Path) -> None:
    if not path.name.startswith("live__"):  # a live run creates its own project
        seed_project(emulator.world, VALUES["projectId"], services=SERVICES)
    differences = replay(emulator, path, VALUES)
    assert differences == [], "\n".join(differences)


def test_the_replay_notices_a_difference(emulator: RunningEmulator, tmp_path: Path) -> None:
    recorded = (RECORDED / "storage__bucket.http.log").read_text(encoding="utf-8")
    altered = tmp_path / "altered.http.log"
    altered.write_text(recorded.replace('"rpo": "DEFAULT",', '"rpo": "DEFAULT", "zone": "x",', 1))
    seed_project(emulator.world, VALUES["projectId"], services=SERVICES)
    assert replay(emulator, altered, VALUES) == [
        "#1 POST /storage/v1/b: zone: Google sends it, the emulator does not"
    ]
