"""Retired objects settle: after a bucket leaves the blueprint its plan shows `forget` until
`provision forget` lists it; then the plan says No changes. And a site file's
deletionProtection overrides the template's."""

from __future__ import annotations

from pathlib import Path

from provision.blueprint.expand import expand
from provision.blueprint.loader import load
from tests.e2e.conftest import BILLING, CliFn

PROJECT = "e2e-forget"
KEPT = f"{PROJECT}-kept"
RETIRED = f"{PROJECT}-retired"
RETIRED_ADDRESS = f"storage.bucket:projects/_/buckets/{RETIRED}"

BLUEPRINT = f"""\
version: 1
project:
  id: {PROJECT}
  billingAccount: {BILLING}
services:
  - storage.googleapis.com
buckets:
  - name: {KEPT}
    location: us-central1
  # the retired bucket
  - name: {RETIRED}
    location: us-central1
"""


def test_after_forget_the_plan_says_no_changes(cli: CliFn, tmp_path: Path) -> None:
    path = tmp_path / "bp.yaml"
    path.write_text(BLUEPRINT, encoding="utf-8")
    assert cli("apply", path, "--yes").exit_code == 0
    dropped = BLUEPRINT.split("  # the retired bucket", maxsplit=1)[0]
    path.write_text(dropped, encoding="utf-8")
    for _ in range(2):  # shown on every plan
        planned = cli("plan", path, "--detailed-exitcode")
        assert f"{RETIRED_ADDRESS}  (forget)" in planned.stdout, planned.output

    refused = cli("forget", path, f"storage.bucket:projects/_/buckets/{KEPT}")
    assert refused.exit_code == 1
    assert "is declared in" in refused.stderr

    forgotten = cli("forget", path, RETIRED_ADDRESS)
    assert forgotten.exit_code == 0, forgotten.output
    assert f"forgotten: {RETIRED_ADDRESS}" in forgotten.stdout
    assert path.read_text(encoding="utf-8") == dropped + f"forget:\n  - {RETIRED_ADDRESS}\n"
    settled = cli("plan", path, "--detailed-exitcode")
    assert settled.exit_code == 0, settled.output
    assert settled.stdout.startswith("No changes.")

    again = cli("forget", path, RETIRED_ADDRESS, "storage.bucket:projects/_/buckets/other")
    assert again.exit_code == 0, again.output
    assert path.read_text(encoding="utf-8").endswith(
        f"forget:\n  - {RETIRED_ADDRESS}\n  - storage.bucket:projects/_/buckets/other\n"
    )
    # An entry that matches nothing to drop is a warning (on stderr) with its line.
    unmatched = cli("plan", path, "--detailed-exitcode")
    assert unmatched.exit_code == 0, unmatched.output
    assert (
        "bp.yaml:12: forget[1]: storage.bucket:projects/_/buckets/other matches nothing to "
        "drop; remove the entry [W102]"
    ) in unmatched.stderr
    assert "forget[0]" not in unmatched.stderr and "W102" not in unmatched.stdout
    # --allow-delete still deletes a forgotten object.
    deleted = cli("apply", path, "--yes", "--allow-delete", RETIRED_ADDRESS)
    assert deleted.exit_code == 0, deleted.output
    assert f"- {RETIRED_ADDRESS}" in deleted.stdout


def test_a_forget_entry_naming_a_declared_object_is_an_error(cli: CliFn, tmp_path: Path) -> None:
    path = tmp_path / "bp.yaml"
    kept = f"storage.bucket:projects/_/buckets/{KEPT}"
    path.write_text(BLUEPRINT + f"forget:\n  - {kept}\n", encoding="utf-8")
    planned = cli("plan", path)
    assert planned.exit_code == 1
    assert f"bp.yaml:14: forget[0]: {kept} is declared in this blueprint" in planned.stderr


SITES = f"""\
version: 1
project:
  id: {PROJECT}
services: [healthcare.googleapis.com]
sites:
  include: sites/*.yaml
  defaultLocation: us-central1
  template:
    datasets:
      - id: "{{site}}"
        location: "{{location}}"
        dicomStores:
          - id: main
"""


def test_a_site_file_overrides_deletion_protection(tmp_path: Path) -> None:
    (tmp_path / "bp.yaml").write_text(SITES, encoding="utf-8")
    (tmp_path / "sites").mkdir()
    (tmp_path / "sites" / "prod.yaml").write_text("name: prod\n", encoding="utf-8")
    (tmp_path / "sites" / "test.yaml").write_text(
        "name: test\ndeletionProtection: false\n", encoding="utf-8"
    )
    loaded = load(tmp_path / "bp.yaml")
    protection = {
        d.id: (d.deletion_protection, [s.deletion_protection for s in d.dicom_stores])
        for d in loaded.blueprint.datasets
    }
    assert protection == {"prod": (True, [True]), "test": (False, [False])}
    stores = {
        r.address.name.split("/")[5]: r.spec for r in expand(loaded) if "main" in r.address.name
    }
    assert stores["prod"]["deletionProtection"] is True
    assert stores["test"]["deletionProtection"] is False
    located = loaded.locate("datasets[1].deletionProtection")
    assert located.file.endswith("test.yaml") and located.line == 2


def test_an_edit_that_would_not_load_leaves_the_blueprint_as_it_was(
    cli: CliFn, tmp_path: Path
) -> None:
    path = tmp_path / "bp.yaml"
    text = BLUEPRINT + "forget: []\n"  # a flow list: the entries would go under a second key
    path.write_text(text, encoding="utf-8")
    refused = cli("forget", path, "storage.bucket:projects/_/buckets/other")
    assert refused.exit_code == 1, refused.output
    assert "is left as it was" in refused.stderr
    assert "bp.yaml:14:1: error: duplicate key 'forget'" in refused.stderr, refused.stderr
    assert path.read_text(encoding="utf-8") == text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bp.yaml"]
