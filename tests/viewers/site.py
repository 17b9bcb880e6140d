"""A site onboarded on the emulator with sample studies imported, as a user gets it.

`onboard_with_samples` copies `blueprints/`, runs `provision onboard st-marys` against the emulator
(over HTTP), uploads the samples to the site's import bucket with google-cloud-storage and runs
the same onboard again, which imports them.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from provision.emulator.samples import Sample
from provision.emulator.server import RunningEmulator
from tests.e2e.cli import CliResult, run_cli

REPO = Path(__file__).resolve().parents[2]
PROJECT = "imaging-dev-4821"
SITE = "st-marys"
BUCKET = f"{PROJECT}-{SITE}-import"
STORE = f"projects/{PROJECT}/locations/us-central1/datasets/{SITE}-imaging/dicomStores/{SITE}-dicom"


@dataclass(frozen=True)
class Onboarded:
    blueprint: Path
    config_dir: Path
    last: CliResult
    """The second onboard, which imported the samples."""


def onboard_with_samples(
    emulator: RunningEmulator, folder: Path, uploaded: Sequence[Sample]
) -> Onboarded:
    blueprints = folder / "blueprints"
    shutil.copytree(REPO / "blueprints", blueprints)
    dev = blueprints / "dev.yaml"
    config_dir = folder / "out" / SITE
    env = {"PROVISION_ENDPOINT": emulator.base_url}
    args = ("onboard", SITE, "--blueprint", dev, "--yes", "--config-dir", config_dir)
    first = run_cli(*args, env=env)
    assert first.exit_code == 0, first.output
    client = storage.Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": emulator.base_url},
    )
    for index, sample in enumerate(uploaded):
        blob = client.bucket(BUCKET).blob(f"dicom/{index}.dcm")
        blob.upload_from_string(sample.data, content_type="application/dicom")
    second = run_cli(*args, env=env)  # imports the files
    assert second.exit_code == 0, second.output
    assert "PASS  import done" in second.stdout
    return Onboarded(dev, config_dir, second)
