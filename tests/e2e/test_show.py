"""`provision show`: each managed object with its live identifiers and outputs, read only."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from provision.emulator.server import RunningEmulator
from tests.e2e.conftest import CliFn, clear_journal, journal

REPO = Path(__file__).resolve().parents[2]
PROJECT = "imaging-dev-4821"


@pytest.fixture
def dev(tmp_path: Path) -> Path:
    target = tmp_path / "blueprints"
    shutil.copytree(REPO / "blueprints", target)
    return target / "dev.yaml"


def test_show_lists_outputs_and_only_reads(
    cli: CliFn, dev: Path, emulator: RunningEmulator
) -> None:
    before = json.loads(cli("show", dev, "--format", "json").stdout)
    assert {o["status"] for o in before["objects"]} == {"absent", "to run"}  # imports run
    assert cli("apply", dev, "--yes").exit_code == 0
    clear_journal(emulator)
    shown = cli("show", dev, "--format", "json")
    assert shown.exit_code == 0, shown.output
    assert not [e for e in journal(emulator) if e["mutating"]]
    objects = {o["address"]: o for o in json.loads(shown.stdout)["objects"]}
    project = objects[f"project:projects/{PROJECT}"]
    assert project["exists"] and project["outputs"]["number"].isdigit()
    stores = [o for o in objects.values() if o["kind"] == "healthcare.dicom_store"]
    assert len(stores) == 2  # the blueprint's and site general's
    for store in stores:
        assert store["outputs"]["dicomweb"] == f"{emulator.base_url}/v1/{store['name']}/dicomWeb"
    agent = next(o for o in objects.values() if o["kind"] == "service_agent")
    number = project["outputs"]["number"]
    assert (
        agent["outputs"]["email"] == f"service-{number}@gcp-sa-healthcare.iam.gserviceaccount.com"
    )
    buckets = {o["outputs"]["uri"] for o in objects.values() if o["kind"] == "storage.bucket"}
    assert buckets == {f"gs://{PROJECT}-dicom-import", f"gs://{PROJECT}-general-import"}
    imports = [o for o in objects.values() if o["kind"] == "healthcare.dicom_import"]
    assert imports and all(i["outputs"]["status"] for i in imports)
    assert "roles/healthcare.dicomViewer" in shown.stderr  # the blueprint's warning, on stderr

    text = cli("show", dev, "--site", "general")
    assert "general-imaging/dicomStores/general-dicom  (exists)" in text.stdout
    assert "dicomweb" in text.stdout and "dicom-main" not in text.stdout
