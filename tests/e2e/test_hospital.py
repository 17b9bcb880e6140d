"""End to end on the emulator: blueprints/examples/hospital.yaml, everything issue 17 asks of a
production deployment (two sites; CMEK and audit logs; Pub/Sub notifications and BigQuery
streaming with the agent's derived grants; storage tiers; a de-identified research copy)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from provision.blueprint.loader import load
from provision.emulator import samples
from provision.emulator.server import RunningEmulator
from tests.e2e.conftest import CliFn

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "blueprints/examples/hospital.yaml"
PROJECT = "hospital-imaging-prod"
SITES = ("st-marys", "riverside")

Google = Callable[[str, str], Any]


def upload(emulator: RunningEmulator, bucket: str, files: dict[str, bytes]) -> None:
    client = storage.Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": emulator.base_url},
    )
    for name, data in files.items():
        client.bucket(bucket).blob(name).upload_from_string(data, content_type="application/dicom")


def test_the_example_validates_without_warnings() -> None:
    loaded = load(EXAMPLE)
    assert loaded.warnings == ()
    datasets = {d.id for d in loaded.blueprint.datasets}
    assert datasets == {f"{site}-{kind}" for site in SITES for kind in ("clinical", "archive")}
    assert len(loaded.blueprint.deidentify) == 2


def test_the_hospital_is_applied_then_unchanged_and_verified(
    cli: CliFn, tmp_path: Path, emulator: RunningEmulator, google: Google
) -> None:
    copy = tmp_path / "examples"
    shutil.copytree(EXAMPLE.parent, copy)
    blueprint = copy / "hospital.yaml"
    first = cli("apply", blueprint, "--yes")
    assert first.exit_code == 0, first.output
    for seed, site in enumerate(SITES):
        files = samples.generate(2, seed=10 + seed, studies=1)
        priors = samples.generate(1, seed=20 + seed, studies=1)
        upload(
            emulator,
            f"{PROJECT}-{site}-import",
            {
                **{f"dicom/{s.path}": s.data for s in files},
                **{f"priors/{s.path}": s.data for s in priors},
            },
        )
    second = cli("apply", blueprint, "--yes")
    assert second.exit_code == 0, second.output
    assert second.stderr.count("de-identified copy of") == 2

    again = cli("plan", blueprint, "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith("No changes.")
    verified = cli("verify", blueprint)
    assert verified.exit_code == 0, verified.output
    for shown in (
        "healthcare.googleapis.com DATA_READ audit logs",
        "encryption key",
        "roles/cloudkms.cryptoKeyEncrypterDecrypter held",
        "roles/pubsub.publisher held",
        "roles/bigquery.dataEditor held",
        "de-identified copy",
        "import done",
    ):
        assert shown in verified.stdout, shown
    # one check per grant, however many stores notify the topic or stream to the dataset
    assert verified.stdout.count("roles/pubsub.publisher held") == 1
    assert verified.stdout.count("roles/bigquery.dataEditor held") == 1

    # the agent's BigQuery grant removed out of band comes back with the next apply
    bq = google("bigquery", "v2").datasets()
    dataset = bq.get(projectId=PROJECT, datasetId="imaging_metadata").execute()
    access = [e for e in dataset["access"] if "gcp-sa-healthcare" not in e.get("userByEmail", "")]
    bq.patch(projectId=PROJECT, datasetId="imaging_metadata", body={"access": access}).execute()
    drifted = cli("plan", blueprint, "--detailed-exitcode")
    assert drifted.exit_code == 2, drifted.output
    assert "bigquery.dataset_iam" in drifted.stdout
    assert cli("apply", blueprint, "--yes").exit_code == 0
    assert cli("plan", blueprint, "--detailed-exitcode").exit_code == 0
