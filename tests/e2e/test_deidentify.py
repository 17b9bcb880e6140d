"""End to end on the emulator: a de-identified research copy of a DICOM store, made once by
`dicomStores.deidentify` after the imports into its source, recorded on the destination, run
again with --rerun, and checked by `provision verify`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from provision.emulator import samples
from provision.emulator.server import RunningEmulator
from provision.resources.dicom_deidentify import label_key
from tests.e2e.conftest import CliFn, clear_journal, journal
from tests.e2e.test_imports_and_verify import BLUEPRINT, DATASET, STORE, upload
from tests.unit.blueprint.conftest import problems

COPY = f"{DATASET}/dicomStores/research"
DEIDENTIFIED = BLUEPRINT.replace(
    "      - id: main\n",
    "      - id: research\n        deletionProtection: false\n      - id: main\n",
) + (
    "deidentify:\n"
    "  - source: imaging/main\n"
    "    destination: imaging/research\n"
    "    config:\n"
    "      dicom:\n"
    "        removeList: {tags: [PatientName, PatientID, PatientBirthDate]}\n"
)

Google = Callable[[str, str], Any]


def deidentify_calls(emulator: RunningEmulator) -> list[dict[str, Any]]:
    return [e for e in journal(emulator) if e["path"].endswith(":deidentify")]


def test_the_copy_is_made_once_after_the_imports_and_holds_no_removed_tag(
    cli: CliFn, tmp_path: Path, emulator: RunningEmulator, google: Google
) -> None:
    path = tmp_path / "deid.yaml"
    path.write_text(DEIDENTIFIED, encoding="utf-8")
    first = cli("apply", path, "--yes")
    assert first.exit_code == 0, first.output
    assert "nothing to de-identify yet" in first.stderr
    assert deidentify_calls(emulator) == []
    upload(emulator, {f"dicom/{s.path}": s.data for s in samples.generate(3, seed=4, studies=1)})

    clear_journal(emulator)
    applied = cli("apply", path, "--yes")
    assert applied.exit_code == 0, applied.output
    assert "3 instances de-identified, 0 instances failed" in applied.stderr
    [call] = deidentify_calls(emulator)
    imported = next(i for i, e in enumerate(journal(emulator)) if e["path"].endswith(":import"))
    assert imported < journal(emulator).index(call)
    stores = google("healthcare", "v1").projects().locations().datasets().dicomStores()
    assert stores.get(name=COPY).execute()["labels"][label_key(STORE)] == "done"

    again = cli("plan", path, "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    verified = cli("verify", path)
    assert verified.exit_code == 0, verified.output
    assert "de-identified copy" in verified.stdout
    assert "without PatientBirthDate, PatientID, PatientName" in verified.stdout

    clear_journal(emulator)
    rerun = cli("apply", path, "--yes", "--rerun")
    assert rerun.exit_code == 0, rerun.output
    assert "--rerun" in rerun.stdout
    assert len(deidentify_calls(emulator)) == 1


KEY = "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k"


def test_a_copy_of_a_cmek_dataset_is_refused(tmp_path: Path) -> None:
    text = DEIDENTIFIED.replace(
        "    location: us-central1\n    iam:",
        f"    location: us-central1\n    encryptionSpec: {{kmsKeyName: {KEY}}}\n    iam:",
    )
    (tmp_path / "bp.yaml").write_text(text, encoding="utf-8")
    found = problems(tmp_path / "bp.yaml")
    assert any("cannot de-identify CMEK-encrypted data" in p.message for p in found)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("  - source: imaging/main\n    destination: imaging/nope\n", "not a DICOM store declared"),
        ("  - source: imaging/main\n    destination: imaging/main\n", "cannot be its own copy"),
    ],
)
def test_bad_copies_are_refused(tmp_path: Path, entry: str, message: str) -> None:
    (tmp_path / "bp.yaml").write_text(BLUEPRINT + "deidentify:\n" + entry, encoding="utf-8")
    assert any(message in p.message for p in problems(tmp_path / "bp.yaml"))
