"""`validate --check-permissions` on the emulator: testIamPermissions on each object, or on its
nearest existing parent before it exists; missing permissions fail with the role to grant."""

from __future__ import annotations

from pathlib import Path

import pytest

from provision.emulator.server import RunningEmulator
from tests.e2e.conftest import BILLING, CliFn, clear_journal, control, journal

PROJECT = "perm-imaging"
DATASET = f"projects/{PROJECT}/locations/us-central1/datasets/ds"
STORE = f"{DATASET}/dicomStores/st"
BUCKET = "perm-imaging-import"

BLUEPRINT = f"""\
version: 1
project:
  id: {PROJECT}
  parent: organizations/123456789012
  billingAccount: {BILLING}
services:
  - healthcare.googleapis.com
  - storage.googleapis.com
iam:
  - role: roles/viewer
    members: [group:radiology@example.com]
datasets:
  - id: ds
    location: us-central1
    dicomStores:
      - id: st
        iam:
          - role: roles/healthcare.dicomStoreViewer
            members: [group:auditors@example.com]
buckets:
  - name: {BUCKET}
    location: US
"""


@pytest.fixture
def blueprint(tmp_path: Path) -> Path:
    path = tmp_path / "perm.yaml"
    path.write_text(BLUEPRINT, encoding="utf-8")
    return path


def rows(output: str, permission: str) -> list[list[str]]:
    return [line.split() for line in output.splitlines() if f" {permission} " in line]


def deny(emulator: RunningEmulator, *permissions: str) -> None:
    control(emulator, "settings", {"denied_permissions": list(permissions)})


def test_before_the_project_exists_checks_run_on_its_parent(
    cli: CliFn, blueprint: Path, emulator: RunningEmulator
) -> None:
    deny(emulator, "resourcemanager.projects.create")
    result = cli("validate", blueprint, "--check-permissions")
    assert result.exit_code == 1, result.output
    [create] = rows(result.stdout, "resourcemanager.projects.create")
    assert create[:2] == ["MISSING", "project"]
    assert create[3] == "organizations/123456789012"
    [enable] = rows(result.stdout, "serviceusage.services.enable")
    assert enable[0] == "ok" and enable[3] == "organizations/123456789012"
    [billing] = rows(result.stdout, "billing.resourceAssociations.create")
    assert billing[0] == "ok" and billing[3] == BILLING
    assert "1 missing" in result.stdout
    assert "Grant: roles/resourcemanager.projectCreator (on the parent)." in result.stdout


def test_existing_objects_are_checked_on_themselves(
    cli: CliFn, blueprint: Path, emulator: RunningEmulator
) -> None:
    assert cli("apply", blueprint, "--yes").exit_code == 0
    clear_journal(emulator)
    everything = cli("validate", blueprint, "--check-permissions")
    assert everything.exit_code == 0, everything.output
    assert " 0 missing, 0 not checked." in everything.stdout
    [store] = rows(everything.stdout, "healthcare.dicomStores.update")
    assert store[0] == "ok" and store[3] == STORE
    [bucket] = rows(everything.stdout, "storage.buckets.update")
    assert bucket[0] == "ok" and bucket[3] == f"projects/_/buckets/{BUCKET}"
    [lease] = rows(everything.stdout, "storage.objects.create")
    assert lease[1] == "lease"

    deny(emulator, "healthcare.dicomStores.setIamPolicy", "resourcemanager.projects.setIamPolicy")
    missing = cli("validate", blueprint, "--check-permissions")
    assert missing.exit_code == 1, missing.output
    [store_iam] = rows(missing.stdout, "healthcare.dicomStores.setIamPolicy")
    assert store_iam[:2] == ["MISSING", "healthcare.dicom_store_iam"] and store_iam[3] == STORE
    [project_iam] = rows(missing.stdout, "resourcemanager.projects.setIamPolicy")
    assert project_iam[0] == "MISSING" and project_iam[3] == f"projects/{PROJECT}"
    assert "2 missing" in missing.stdout
    assert "roles/healthcare.dicomStoreAdmin" in missing.stdout
    assert "roles/resourcemanager.projectIamAdmin" in missing.stdout
    # one testIamPermissions per resource, and nothing written
    tests = [e for e in journal(emulator) if e["method_id"].endswith("estIamPermissions")]
    assert len(tests) == 2 * len({(e["api"], e["path"]) for e in tests})
    assert [e for e in journal(emulator) if e["mutating"]] == []


def test_without_a_parent_a_new_project_cannot_be_checked(cli: CliFn, tmp_path: Path) -> None:
    path = tmp_path / "orphan.yaml"
    path.write_text(
        BLUEPRINT.replace("  parent: organizations/123456789012\n", ""), encoding="utf-8"
    )
    result = cli("validate", path, "--check-permissions")
    assert result.exit_code == 0, result.output
    [create] = rows(result.stdout, "resourcemanager.projects.create")
    assert create[0] == "unchecked"
    assert "the project does not exist and has no parent" in result.stdout
