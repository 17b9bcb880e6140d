"""Bucket locations are Cloud Storage's; an import bucket outside its dataset's area warns."""

from __future__ import annotations

from pathlib import Path

import pytest

from provision.blueprint import rules
from provision.blueprint.loader import load
from provision.errors import BlueprintError

BLUEPRINT = """\
version: 1
project:
  id: demo-imaging
services: [healthcare.googleapis.com, storage.googleapis.com]
datasets:
  - id: imaging
    location: {dataset}
    dicomStores:
      - id: studies
buckets:
  - name: demo-imaging-landing
{bucket}
imports:
  - dicomStore: imaging/studies
    uri: gs://demo-imaging-landing/dicom/**.dcm
"""


def blueprint(tmp_path: Path, dataset: str, bucket: str | None) -> Path:
    path = tmp_path / "blueprint.yaml"
    line = f"    location: {bucket}" if bucket is not None else ""
    path.write_text(BLUEPRINT.format(dataset=dataset, bucket=line))
    return path


@pytest.mark.parametrize(
    "location", ["US", "eu", "ASIA", "nam4", "EUR4", "us-central1", "me-central2"]
)
def test_cloud_storage_locations_are_accepted(location: str) -> None:
    assert rules.check_bucket_location(location) is None


def test_a_location_cloud_storage_does_not_have_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BlueprintError) as raised:
        load(blueprint(tmp_path, "us-central1", "moon-central1"))
    assert "buckets[0].location: bucket location 'moon-central1' is not a Cloud Storage" in str(
        raised.value
    )


def residency_warnings(path: Path) -> list[str]:
    return [w.message for w in load(path).warnings if "patient-data residency" in w.message]


@pytest.mark.parametrize(
    ("dataset", "bucket", "warns"),
    [
        ("europe-west4", None, True),  # the default, US
        ("europe-west4", "US", True),
        ("europe-west4", "EU", False),
        ("europe-west4", "eur4", False),
        ("europe-west2", "EU", True),  # London is not in the EU multi-region
        ("northamerica-northeast1", "US", True),
        ("us-central1", None, False),
        ("us-central1", "us-east1", False),
        ("us", "nam4", False),
        ("eu", "us-central1", True),
    ],
)
def test_an_import_bucket_outside_its_datasets_area_warns(
    tmp_path: Path, dataset: str, bucket: str | None, warns: bool
) -> None:
    found = residency_warnings(blueprint(tmp_path, dataset, bucket))
    assert bool(found) is warns, found
