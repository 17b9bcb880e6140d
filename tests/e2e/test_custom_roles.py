"""End to end on the emulator: a project-level custom role declared in the blueprint and
granted instead of roles/healthcare.dicomViewer; checked with the plain Google clients."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.e2e.conftest import BILLING, CliFn

PROJECT = "e2e-roles"
STORE = f"projects/{PROJECT}/locations/us-central1/datasets/imaging/dicomStores/main"
ROLE = f"projects/{PROJECT}/roles/dicomReader"

BLUEPRINT = f"""\
version: 1
project:
  id: {PROJECT}
  billingAccount: {BILLING}
services:
  - healthcare.googleapis.com
customRoles:
  - id: dicomReader
    title: DICOM reader
    description: Reads and shows images; cannot export a store
    includedPermissions:
      - healthcare.dicomStores.dicomWebRead
      - healthcare.dicomStores.get
      - healthcare.dicomStores.list
datasets:
  - id: imaging
    location: us-central1
    dicomStores:
      - id: main
        iam:
          - role: {ROLE}
            members: [group:viewers@example.com]
"""


def test_a_custom_role_is_created_granted_and_kept_as_declared(
    cli: CliFn, tmp_path: Path, google: Callable[[str, str], Any]
) -> None:
    path = tmp_path / "roles.yaml"
    path.write_text(BLUEPRINT, encoding="utf-8")
    validated = cli("validate", path)
    assert validated.exit_code == 0, validated.output
    assert "warning" not in validated.stderr  # no dicomViewer export warning

    planned = cli("plan", path)
    assert f"+ iam.custom_role:{ROLE}" in planned.stdout, planned.output
    applied = cli("apply", path, "--yes")
    assert applied.exit_code == 0, applied.output

    roles = google("iam", "v1").projects().roles()
    role = roles.get(name=ROLE).execute()
    assert role["title"] == "DICOM reader"
    assert role["stage"] == "GA"
    assert "healthcare.dicomStores.export" not in role["includedPermissions"]
    stores = google("healthcare", "v1").projects().locations().datasets().dicomStores()
    policy = stores.getIamPolicy(resource=STORE).execute()
    assert {"role": ROLE, "members": ["group:viewers@example.com"]} in policy["bindings"]
    assert cli("plan", path, "--detailed-exitcode").exit_code == 0

    # Someone adds export to the role out of band; the next plan takes it away again.
    permissions = [*role["includedPermissions"], "healthcare.dicomStores.export"]
    roles.patch(
        name=ROLE,
        updateMask="includedPermissions",
        body={"includedPermissions": permissions, "etag": role["etag"]},
    ).execute()
    drifted = cli("plan", path, "--detailed-exitcode")
    assert drifted.exit_code == 2, drifted.output
    assert "- healthcare.dicomStores.export" in drifted.stdout
    assert cli("apply", path, "--yes").exit_code == 0
    assert "healthcare.dicomStores.export" not in roles.get(name=ROLE).execute().get(
        "includedPermissions", []
    )

    # A deleted role (Google keeps it 7 days) is undeleted.
    roles.delete(name=ROLE).execute()
    restored = cli("apply", path, "--yes")
    assert restored.exit_code == 0, restored.output
    assert "undeleting it" in restored.stdout
    assert not roles.get(name=ROLE).execute().get("deleted")
    assert cli("plan", path, "--detailed-exitcode").exit_code == 0


def test_google_refuses_a_grant_of_a_custom_role_that_does_not_exist(
    cli: CliFn, tmp_path: Path
) -> None:
    path = tmp_path / "undeclared.yaml"
    head, _, rest = BLUEPRINT.partition("customRoles:")
    without = head + "datasets:" + rest.partition("datasets:")[2]
    path.write_text(without, encoding="utf-8")
    applied = cli("apply", path, "--yes")
    assert applied.exit_code == 1, applied.output
    assert f"Role ({ROLE}) does not exist in the resource's hierarchy" in applied.output
