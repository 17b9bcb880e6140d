"""`provision onboard` end to end on the emulator: one command from an empty world to a working
site, reruns that change nothing, refusals that leave no file behind."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage
from googleapiclient import discovery
from googleapiclient.errors import HttpError

from provision.emulator import samples
from provision.emulator.server import RunningEmulator, start_background
from tests.e2e.cli import run_cli
from tests.e2e.conftest import CliFn, clear_journal, journal, mutations, set_faults

REPO = Path(__file__).resolve().parents[2]
PROJECT = "imaging-dev-4821"
DATASET = f"projects/{PROJECT}/locations/us-central1/datasets/st-marys-imaging"
STORE = f"{DATASET}/dicomStores/st-marys-dicom"
BUCKET = f"{PROJECT}-st-marys-import"
EMULATOR_URL = "http://127.0.0.1:8765"


@pytest.fixture
def dev(tmp_path: Path) -> Path:
    """A copy of blueprints/dev.yaml with its site files."""
    target = tmp_path / "blueprints"
    shutil.copytree(REPO / "blueprints", target)
    return target / "dev.yaml"


def clients(base_url: str) -> Callable[[str, str], Any]:
    def build(api: str, version: str) -> Any:
        endpoint = base_url + "/" + ("storage/v1/" if api == "storage" else "")
        return discovery.build(
            api,
            version,
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            static_discovery=True,
            client_options={"api_endpoint": endpoint},
        )

    return build


def exists(request: Any) -> bool:
    try:
        request.execute()
    except HttpError as error:
        if error.resp.status == 404:
            return False
        raise
    return True


def test_onboard_from_an_empty_emulator_leaves_a_working_site(
    dev: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    first = run_cli("onboard", "st-marys", "--blueprint", dev, "--yes", "--emulator")
    assert first.exit_code == 0, first.output
    # 8 creations; the import finds no files yet, which is not counted as done
    assert "Apply complete: 8 done, 0 failed, 0 skipped, 1 with nothing to do." in first.stdout
    assert "Site st-marys is ready." in first.stdout
    viewer = (
        f"Open its studies in the OHIF Viewer: provision viewer {dev} --site st-marys --emulator"
    )
    assert first.stdout.rstrip().endswith(viewer)
    site_file = dev.parent / "sites" / "st-marys.yaml"
    assert "name: st-marys\n" in site_file.read_text(encoding="utf-8")
    # The manual OAuth steps are part of the plan, with the exact values.
    assert "! oauth.checklist:projects/imaging-dev-4821/oauth/web-client" in first.stdout
    assert "Authorized redirect URIs: http://localhost:3000/callback" in first.stdout

    url = f"{EMULATOR_URL}/v1/{STORE}/dicomWeb"
    ohif = (tmp_path / "out" / "st-marys" / "ohif-config.js").read_text(encoding="utf-8")
    config = json.loads(ohif.split("window.config = ", 1)[1].rstrip().rstrip(";"))
    sources = [s for s in config["dataSources"] if "dicomweb" in s["namespace"]]
    assert [s["configuration"]["qidoRoot"] for s in sources] == [url]
    assert sources[0]["configuration"]["wadoRoot"] == url
    assert "oidc" not in config  # the emulator needs no sign-in
    orthanc = json.loads((tmp_path / "out" / "st-marys" / "orthanc.json").read_text())
    servers = orthanc["DicomWeb"]["Servers"]
    assert [s["Url"] for s in servers.values()] == [url + "/"]

    second = run_cli("onboard", "st-marys", "--blueprint", dev, "--emulator")
    assert second.exit_code == 0, second.output
    assert second.stdout.startswith("No changes.")
    assert "! oauth.checklist:projects/imaging-dev-4821/oauth/consent-screen" in second.stdout
    assert "using the existing site file" in second.stderr

    # What exists, read with the plain Google clients from the state the CLI left.
    running = start_background(tmp_path / ".provision" / "emulator.db")
    try:
        google = clients(running.base_url)
        datasets = google("healthcare", "v1").projects().locations().datasets()
        assert exists(datasets.get(name=DATASET))
        assert exists(datasets.dicomStores().get(name=STORE))
        assert exists(google("storage", "v1").buckets().get(bucket=BUCKET))
        # Only this site: the other site and the blueprint's own dataset were not made.
        other = f"projects/{PROJECT}/locations/us-central1/datasets/general-imaging"
        assert not exists(datasets.get(name=other))
        main = f"projects/{PROJECT}/locations/us-central1/datasets/imaging-dev"
        assert not exists(datasets.get(name=main))
    finally:
        running.stop()


def test_rerun_makes_no_mutating_call(cli: CliFn, dev: Path, emulator: RunningEmulator) -> None:
    first = cli("onboard", "st-marys", "--blueprint", dev, "--yes", "--config-dir", dev.parent)
    assert first.exit_code == 0, first.output
    clear_journal(emulator)
    again = cli("onboard", "st-marys", "--blueprint", dev, "--config-dir", dev.parent)
    assert again.exit_code == 0, again.output
    assert mutations(emulator) == []
    assert again.stdout.rstrip().endswith(
        f"provision viewer {dev} --site st-marys --endpoint {emulator.base_url}"
    )
    ohif = (dev.parent / "ohif-config.js").read_text(encoding="utf-8")
    assert f"{emulator.base_url}/v1/{STORE}/dicomWeb" in ohif  # --endpoint is the viewers' URL


def test_a_bad_name_is_refused_and_no_file_is_left(cli: CliFn, dev: Path) -> None:
    before = sorted((dev.parent / "sites").iterdir())
    result = cli("onboard", "St_Marys", "--blueprint", dev, "--yes")
    assert result.exit_code == 1
    assert "site name 'St_Marys' is invalid" in result.stderr
    assert sorted((dev.parent / "sites").iterdir()) == before


def test_a_file_that_fails_validation_is_removed_again(
    cli: CliFn, dev: Path, emulator: RunningEmulator
) -> None:
    # Another file already declares a site with this name.
    (dev.parent / "sites" / "other.yaml").write_text("name: st-marys\n", encoding="utf-8")
    result = cli("onboard", "st-marys", "--blueprint", dev, "--yes")
    assert result.exit_code == 1
    assert "site 'st-marys' is also defined in" in result.stderr
    assert "removed" in result.stderr
    assert not (dev.parent / "sites" / "st-marys.yaml").exists()
    assert mutations(emulator) == []


def test_a_different_existing_site_file_is_refused_and_kept(cli: CliFn, dev: Path) -> None:
    site_file = dev.parent / "sites" / "st-marys.yaml"
    site_file.write_text("name: st-marys\nlocation: europe-west4\n", encoding="utf-8")
    result = cli("onboard", "st-marys", "--blueprint", dev, "--yes")
    assert result.exit_code == 1
    assert "already exists with other settings" in result.stderr
    assert "the file has location 'europe-west4', this run asks for none" in result.stderr
    assert site_file.read_text(encoding="utf-8") == "name: st-marys\nlocation: europe-west4\n"


def test_without_a_terminal_and_without_yes_it_refuses_and_removes_the_file(
    cli: CliFn, dev: Path, emulator: RunningEmulator
) -> None:
    result = cli("onboard", "st-marys", "--blueprint", dev)
    assert result.exit_code == 1
    assert "refusing to apply without confirmation" in result.stderr
    assert not (dev.parent / "sites" / "st-marys.yaml").exists()
    assert mutations(emulator) == []


def test_location_and_bucket_go_into_the_site_file(cli: CliFn, dev: Path) -> None:
    result = cli(
        "onboard",
        "north",
        "--blueprint",
        dev,
        "--location",
        "europe-west4",
        "--bucket",
        "gs://north-archive/dicom/",
        "--yes",
        "--config-dir",
        dev.parent / "out",
    )
    assert result.exit_code == 0, result.output
    text = (dev.parent / "sites" / "north.yaml").read_text(encoding="utf-8")
    assert "location: europe-west4\n" in text
    assert "import_uri: gs://north-archive/dicom\n" in text
    assert "locations/europe-west4/datasets/north-imaging" in result.stdout


def test_a_location_without_healthcare_is_refused(cli: CliFn, dev: Path) -> None:
    result = cli("onboard", "north", "--blueprint", dev, "--location", "mars-west1", "--yes")
    assert result.exit_code == 1
    assert "--location: location 'mars-west1' does not offer the Cloud Healthcare API" in (
        result.stderr
    )
    assert not (dev.parent / "sites" / "north.yaml").exists()


def test_files_uploaded_after_onboarding_are_imported_by_a_rerun(
    cli: CliFn, dev: Path, emulator: RunningEmulator
) -> None:
    first = cli("onboard", "st-marys", "--blueprint", dev, "--yes", "--config-dir", dev.parent)
    assert first.exit_code == 0, first.output
    assert "Waiting for DICOM files: gs://imaging-dev-4821-st-marys-import/dicom/**.dcm" in (
        first.stdout
    )
    client = storage.Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": emulator.base_url},
    )
    for index, sample in enumerate(samples.generate(3, seed=3)):
        blob = client.bucket(BUCKET).blob(f"dicom/{index}.dcm")
        blob.upload_from_string(sample.data, content_type="application/dicom")
    again = cli("onboard", "st-marys", "--blueprint", dev, "--yes", "--config-dir", dev.parent)
    assert again.exit_code == 0, again.output
    assert "Apply complete: 1 done, 0 failed, 0 skipped." in again.stdout
    assert "PASS  import done" in again.stdout
    assert "3 instances" in again.stdout
    assert "Waiting for DICOM files" not in again.stdout
    clear_journal(emulator)
    third = cli("onboard", "st-marys", "--blueprint", dev, "--config-dir", dev.parent)
    assert third.exit_code == 0, third.output
    assert mutations(emulator) == []


def test_a_failed_onboarding_keeps_the_file_and_a_rerun_finishes_it(
    cli: CliFn, dev: Path, emulator: RunningEmulator
) -> None:
    failing = {"method_id": "projects.locations.datasets.dicomStores.create", "status": 400}
    set_faults(emulator, rules=[{**failing, "times": 1}])
    first = cli("onboard", "st-marys", "--blueprint", dev, "--yes", "--config-dir", dev.parent)
    assert first.exit_code == 1
    assert "Apply failed:" in first.stderr
    assert "The site file" in first.stderr and "stays" in first.stderr
    assert (dev.parent / "sites" / "st-marys.yaml").exists()
    assert not (dev.parent / "ohif-config.js").exists()
    again = cli("onboard", "st-marys", "--blueprint", dev, "--yes", "--config-dir", dev.parent)
    assert again.exit_code == 0, again.output
    assert "+ healthcare.dicom_store:" in again.stdout
    assert "+ storage.bucket:" not in again.stdout  # made by the first run
    assert (dev.parent / "ohif-config.js").exists()


def test_plan_can_be_limited_to_one_site(cli: CliFn, dev: Path) -> None:
    first = cli("onboard", "st-marys", "--blueprint", dev, "--yes", "--config-dir", dev.parent)
    assert first.exit_code == 0, first.output
    done = cli("plan", dev, "--site", "st-marys", "--detailed-exitcode")
    assert done.exit_code == 0, done.output
    other = cli("plan", dev, "--site", "general", "--detailed-exitcode")
    assert other.exit_code == 2, other.output
    assert "general-imaging" in other.stdout
    assert "st-marys" not in other.stdout
    assert "imaging-dev/dicomStores/dicom-main" not in other.stdout
    unknown = cli("plan", dev, "--site", "nowhere")
    assert unknown.exit_code == 1
    assert "site 'nowhere' has no file" in unknown.stderr


def test_a_site_already_declared_with_the_default_location_is_brought_up(
    cli: CliFn, dev: Path
) -> None:
    # blueprints/sites/general.yaml says `location: us-central1`, the default location.
    result = cli("onboard", "general", "--blueprint", dev, "--yes", "--config-dir", dev.parent)
    assert result.exit_code == 0, result.output
    assert "using the existing site file" in result.stderr
    assert "+ healthcare.dataset:" in result.stdout and "general-imaging" in result.stdout


def test_a_missing_site_folder_fails_the_plan_and_onboarding_creates_it(
    cli: CliFn, dev: Path, emulator: RunningEmulator
) -> None:
    """Without its folder every site would be planned as dropped: the plan refuses instead."""
    assert cli("apply", dev, "--yes").exit_code == 0
    sites = dev.parent / "sites"
    shutil.move(sites, dev.parent / "elsewhere")
    clear_journal(emulator)
    planned = cli("plan", dev)
    assert planned.exit_code == 1, planned.output
    assert "sites.include" in planned.stderr and "does not exist" in planned.stderr
    assert "forget" not in planned.output
    assert journal(emulator) == []
    onboarded = cli("onboard", "st-marys", "--blueprint", dev, "--yes", "--config-dir", dev.parent)
    assert onboarded.exit_code == 0, onboarded.output
    assert (sites / "st-marys.yaml").is_file()
