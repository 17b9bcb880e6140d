"""End to end on the emulator: storage tiers of imported instances (ImportDicomDataRequest's
`blobStorageSettings`), per import or as the store's default, read back with getStorageInfo."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from provision.emulator import samples
from provision.emulator.server import RunningEmulator
from tests.e2e.conftest import CliFn, journal
from tests.e2e.test_imports_and_verify import BLUEPRINT, STORE, URI, upload

Google = Callable[[str, str], Any]


def storage_class(google: Google, sample: samples.Sample) -> str:
    stores = google("healthcare", "v1").projects().locations().datasets().dicomStores()
    name = (
        f"{STORE}/dicomWeb/studies/{sample.study_uid}/series/{sample.series_uid}"
        f"/instances/{sample.sop_uid}"
    )
    info = stores.dicomWeb().studies().series().instances().getStorageInfo(resource=name)
    return str(info.execute()["blobStorageInfo"]["storageClass"])


def test_an_import_stores_its_instances_in_its_class_and_the_plan_says_so(
    cli: CliFn, tmp_path: Path, emulator: RunningEmulator, google: Google
) -> None:
    path = tmp_path / "tiers.yaml"
    path.write_text(
        BLUEPRINT.replace(f"    uri: {URI}\n", f"    uri: {URI}\n    blobStorageClass: COLDLINE\n"),
        encoding="utf-8",
    )
    assert cli("apply", path, "--yes").exit_code == 0
    files = samples.generate(2, seed=5, studies=1)
    upload(emulator, {f"dicom/{s.path}": s.data for s in files})
    planned = cli("plan", path)
    assert "blobStorageClass" in planned.stdout and "COLDLINE" in planned.stdout
    applied = cli("apply", path, "--yes")
    assert applied.exit_code == 0, applied.output
    assert len([e for e in journal(emulator) if e["path"].endswith(":import")]) == 1
    assert {storage_class(google, s) for s in files} == {"COLDLINE"}


def test_the_stores_class_is_the_default_of_its_imports(
    cli: CliFn, tmp_path: Path, emulator: RunningEmulator, google: Google
) -> None:
    path = tmp_path / "tiers.yaml"
    path.write_text(
        BLUEPRINT.replace(
            "      - id: main\n", "      - id: main\n        blobStorageClass: ARCHIVE\n"
        ),
        encoding="utf-8",
    )
    assert cli("apply", path, "--yes").exit_code == 0
    files = samples.generate(1, seed=6, studies=1)
    upload(emulator, {f"dicom/{s.path}": s.data for s in files})
    assert cli("apply", path, "--yes").exit_code == 0
    assert {storage_class(google, s) for s in files} == {"ARCHIVE"}
    assert cli("plan", path, "--detailed-exitcode").exit_code == 0


def test_changing_the_class_after_the_import_says_what_stays_and_moves_nothing(
    cli: CliFn, tmp_path: Path, emulator: RunningEmulator, google: Google
) -> None:
    path = tmp_path / "tiers.yaml"
    path.write_text(BLUEPRINT, encoding="utf-8")
    assert cli("apply", path, "--yes").exit_code == 0
    files = samples.generate(2, seed=7, studies=1)
    upload(emulator, {f"dicom/{s.path}": s.data for s in files})
    assert cli("apply", path, "--yes").exit_code == 0
    assert cli("plan", path, "--detailed-exitcode").exit_code == 0

    path.write_text(
        BLUEPRINT.replace(f"    uri: {URI}\n", f"    uri: {URI}\n    blobStorageClass: ARCHIVE\n"),
        encoding="utf-8",
    )
    planned = cli("plan", path, "--detailed-exitcode")
    assert planned.exit_code == 2, planned.output
    assert '"STANDARD" -> "ARCHIVE"' in planned.stdout, planned.stdout
    assert "stay STANDARD" in planned.stdout
    assert "dicomStores.setBlobStorageSettings" in planned.stdout
    assert "1 to update" in planned.stdout and "0 to run" in planned.stdout
    imports = len([e for e in journal(emulator) if e["path"].endswith(":import")])
    applied = cli("apply", path, "--yes")
    assert applied.exit_code == 0, applied.output
    assert len([e for e in journal(emulator) if e["path"].endswith(":import")]) == imports
    assert {storage_class(google, s) for s in files} == {"STANDARD"}
    assert cli("plan", path, "--detailed-exitcode").exit_code == 0
