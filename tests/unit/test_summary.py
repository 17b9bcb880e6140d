"""`provision validate`'s one-line summary counts every kind a blueprint declares."""

from __future__ import annotations

from pathlib import Path

from provision.blueprint.loader import load
from provision.blueprint.summary import summarize

REPO = Path(__file__).resolve().parents[2]

CUSTOM_ROLE = """\
version: 1
project:
  id: summary-test-4821
services: [healthcare.googleapis.com]
customRoles:
  - id: dicomReader
    includedPermissions: [healthcare.dicomStores.get]
"""


def test_the_hospital_summary_counts_topics_bigquery_datasets_and_deidentified_copies() -> None:
    loaded = load(REPO / "blueprints/examples/hospital.yaml")
    assert summarize(loaded.blueprint) == (
        "1 project, 2 services, 4 datasets, 6 DICOM stores, 2 buckets, 5 IAM bindings, "
        "1 service agent, 2 service-agent grants, 1 topic, 1 BigQuery dataset, 4 imports, "
        "2 de-identified copies, 1 key ring, 1 crypto key, 1 audit log config"
    )


def test_custom_roles_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "blueprint.yaml"
    path.write_text(CUSTOM_ROLE, encoding="utf-8")
    assert summarize(load(path).blueprint) == "1 project, 1 service, 1 custom role"
