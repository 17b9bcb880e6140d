"""Warnings: each has a stable code, a template's warning is reported once with its sites, and
a blueprint acknowledges warnings by code (with a reason) to silence them."""

from __future__ import annotations

import re
from pathlib import Path

from provision.blueprint import warning_codes
from provision.blueprint.loader import load
from tests.unit.blueprint.conftest import Files, problems

README = Path(__file__).parents[3] / "README.md"

RISKY = """\
project:
  id: imaging-test-1
services: [healthcare.googleapis.com]
datasets:
  - id: imaging
    location: us-central1
    labels: {team: radiology}
    dicomStores:
      - id: studies
        iam:
          - role: roles/healthcare.dicomViewer
            members: [group:viewers@example.com]
"""

TEMPLATED = """\
project:
  id: imaging-test-1
services: [healthcare.googleapis.com]
sites:
  include: sites/*.yaml
  defaultLocation: us-central1
  template:
    datasets:
      - id: "{site}"
        location: "{location}"
        dicomStores:
          - id: main
            iam:
              - role: roles/healthcare.dicomViewer
                members: [group:viewers@example.com]
              - role: roles/healthcare.dicomViewer
                members: ["group:{site}-viewers@example.com"]
"""


def test_every_warning_has_a_code_shown_after_it(files: Files) -> None:
    loaded = load(files.write("bp.yaml", RISKY))
    assert sorted(w.code for w in loaded.warnings) == ["W006", "W009"]
    viewer = next(w for w in loaded.warnings if w.code == warning_codes.DICOM_VIEWER_EXPORTS)
    assert str(viewer).endswith("[W006]")
    assert "declare a custom role without export under `customRoles`" in viewer.message
    assert "grant `projects/imaging-test-1/roles/dicomReader` instead" in viewer.message


def test_a_template_warning_is_reported_once_with_the_sites_it_applies_to(files: Files) -> None:
    files.write("bp.yaml", TEMPLATED)
    for name in ("alpha", "beta", "gamma"):
        files.write(f"sites/{name}.yaml", f"name: {name}\n")
    warnings = load(files.root / "bp.yaml").warnings
    assert len(warnings) == 2, [str(w) for w in warnings]
    shared, own = warnings
    assert shared.file.endswith("bp.yaml") and shared.line == 15
    assert shared.path == "sites.template.datasets[0].dicomStores[0].iam[0].members[0]"
    assert shared.message.endswith("(for sites 'alpha', 'beta', 'gamma')")
    assert shared.code == "W006"
    # Each site's own member differs; still one warning, shown as for the first site.
    assert own.line == 17
    assert "group:alpha-viewers@example.com gets" in own.message
    assert own.message.endswith("(for sites 'alpha', 'beta', 'gamma'; as for site 'alpha')")


def test_an_acknowledged_warning_is_silenced(files: Files) -> None:
    text = RISKY + (
        "acknowledge:\n"
        "  - code: W006\n"
        "    reason: the viewers group is allowed to export (DPO ticket 42)\n"
    )
    loaded = load(files.write("bp.yaml", text))
    assert [w.code for w in loaded.warnings] == ["W009"]
    assert loaded.acknowledged == 1


def test_acknowledging_an_unknown_code_is_an_error_naming_file_line_and_field(
    files: Files,
) -> None:
    acknowledge = "  - code: W600\n    reason: typo\n  - code: W009\n    reason: ''\n"
    text = RISKY + "acknowledge:\n" + acknowledge
    found = [d for d in problems(files.write("bp.yaml", text)) if d.severity == "error"]
    assert [(d.line, d.path) for d in found] == [
        (14, "acknowledge[0].code"),
        (17, "acknowledge[1].reason"),
    ]
    assert "'W600' is not a code of a blueprint warning (known: W001," in found[0].message
    assert found[0].file.endswith("bp.yaml")


def test_command_warnings_cannot_be_acknowledged(files: Files) -> None:
    text = RISKY + "acknowledge:\n  - code: W101\n    reason: x\n"
    (error,) = [d for d in problems(files.write("bp.yaml", text)) if d.severity == "error"]
    assert error.path == "acknowledge[0].code"


def test_readme_lists_every_warning_code() -> None:
    text = README.read_text(encoding="utf-8")
    listed = dict(re.findall(r"^\| `(W\d{3})` \| `([a-z-]+)` \|", text, re.MULTILINE))
    assert listed == {code: w.slug for code, w in warning_codes.CODES.items()}
