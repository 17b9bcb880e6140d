"""`provision destroy` end to end on the emulator: only owned, empty objects go; data stays
unless named; IAM loses exactly the blueprint's members; APIs and the project stay unless asked."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage
from googleapiclient.errors import HttpError

from provision.emulator.server import RunningEmulator
from tests.e2e.conftest import CliFn, clear_journal, mutations
from tests.e2e.test_healthcare_storage import Google, healthcare, stow

REPO = Path(__file__).resolve().parents[2]
PROJECT = "imaging-dev-4821"
LOCATION = f"projects/{PROJECT}/locations/us-central1"
SITE_DATASET = f"{LOCATION}/datasets/st-marys-imaging"
SITE_STORE = f"{SITE_DATASET}/dicomStores/st-marys-dicom"
SITE_BUCKET = f"{PROJECT}-st-marys-import"
MAIN_STORE = f"{LOCATION}/datasets/imaging-dev/dicomStores/dicom-main"
GENERAL_STORE = f"{LOCATION}/datasets/general-imaging/dicomStores/general-dicom"


@pytest.fixture
def dev(tmp_path: Path) -> Path:
    """A copy of blueprints/dev.yaml with sites `general` and `st-marys`."""
    target = tmp_path / "blueprints"
    shutil.copytree(REPO / "blueprints", target)
    (target / "sites" / "st-marys.yaml").write_text("name: st-marys\n", encoding="utf-8")
    return target / "dev.yaml"


@pytest.fixture
def applied(cli: CliFn, dev: Path) -> Path:
    result = cli("apply", dev, "--yes")
    assert result.exit_code == 0, result.output
    return dev


def exists(request: Any) -> bool:
    try:
        request.execute()
    except HttpError as error:
        if error.resp.status == 404:
            return False
        raise
    return True


def gcs(emulator: RunningEmulator) -> storage.Client:
    return storage.Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": emulator.base_url},
    )


def bucket_exists(emulator: RunningEmulator, name: str) -> bool:
    return gcs(emulator).lookup_bucket(name) is not None


def test_site_destroy_removes_owned_empty_objects_and_keeps_data(
    cli: CliFn, applied: Path, emulator: RunningEmulator, google: Google
) -> None:
    stores = healthcare(google).dicomStores()
    stow(emulator, SITE_STORE, count=2)
    result = cli("destroy", applied, "--site", "st-marys", "--yes")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Planned removals for")
    assert "refusing to delete it without --allow-delete" in result.stdout
    assert "Destroy complete: 1 done, 0 failed, 0 skipped." in result.stdout
    assert not bucket_exists(emulator, SITE_BUCKET)  # owned and empty
    assert exists(stores.get(name=SITE_STORE))  # holds studies
    assert exists(healthcare(google).get(name=SITE_DATASET))  # datasets only when named
    # Nothing of the other site or of the blueprint's own objects was touched.
    assert exists(stores.get(name=GENERAL_STORE))
    assert exists(stores.get(name=MAIN_STORE))
    assert bucket_exists(emulator, f"{PROJECT}-general-import")

    clear_journal(emulator)
    named = cli(
        "destroy",
        applied,
        "--site",
        "st-marys",
        "--yes",
        "--allow-delete",
        f"healthcare.dicom_store:{SITE_STORE}",
        "--allow-delete",
        f"healthcare.dataset:{SITE_DATASET}",
    )
    assert named.exit_code == 0, named.output
    deletes = [e["method_id"] for e in mutations(emulator) if e["method_id"].endswith("delete")]
    assert deletes == [
        "projects.locations.datasets.dicomStores.delete",
        "projects.locations.datasets.delete",
    ]  # reverse dependency order
    assert not exists(stores.get(name=SITE_STORE))
    assert not exists(healthcare(google).get(name=SITE_DATASET))

    clear_journal(emulator)
    again = cli("destroy", applied, "--site", "st-marys", "--yes")
    assert again.exit_code == 0, again.output
    assert "Nothing to remove" in again.stdout
    assert mutations(emulator) == []


def test_a_dataset_holding_a_store_provision_does_not_own_is_kept_even_when_named(
    cli: CliFn, applied: Path, google: Google
) -> None:
    healthcare(google).dicomStores().create(
        parent=SITE_DATASET, dicomStoreId="foreign", body={}
    ).execute()
    result = cli(
        "destroy", applied, "--site", "st-marys", "--yes", "--allow-delete",
        f"healthcare.dataset:{SITE_DATASET}",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "holds stores provision does not own (foreign)" in result.stdout
    assert exists(healthcare(google).get(name=SITE_DATASET))
    assert exists(healthcare(google).dicomStores().get(name=f"{SITE_DATASET}/dicomStores/foreign"))


def test_a_bucket_holding_objects_goes_only_when_named(
    cli: CliFn, applied: Path, emulator: RunningEmulator
) -> None:
    gcs(emulator).bucket(SITE_BUCKET).blob("dicom/a.dcm").upload_from_string(b"x")
    kept = cli("destroy", applied, "--site", "st-marys", "--yes")
    assert kept.exit_code == 0, kept.output
    assert "holds objects: refusing to delete it without --allow-delete" in kept.stdout
    assert bucket_exists(emulator, SITE_BUCKET)
    named = cli(
        "destroy", applied, "--site", "st-marys", "--yes", "--allow-delete",
        f"storage.bucket:projects/_/buckets/{SITE_BUCKET}",
    )  # fmt: skip
    assert named.exit_code == 0, named.output
    assert not bucket_exists(emulator, SITE_BUCKET)


def test_iam_loses_exactly_the_blueprints_members(
    cli: CliFn, applied: Path, emulator: RunningEmulator, google: Google
) -> None:
    stores = healthcare(google).dicomStores()
    policy = stores.getIamPolicy(resource=MAIN_STORE).execute()
    for binding in policy["bindings"]:
        if binding["role"] == "roles/healthcare.dicomViewer":
            binding["members"].append("user:someone-else@example.com")
    stores.setIamPolicy(resource=MAIN_STORE, body={"policy": policy}).execute()
    projects = google("cloudresourcemanager", "v3").projects()
    before_project = projects.getIamPolicy(resource=f"projects/{PROJECT}", body={}).execute()

    result = cli("destroy", applied, "--yes")
    assert result.exit_code == 0, result.output
    after = stores.getIamPolicy(resource=MAIN_STORE).execute()
    members = {b["role"]: b["members"] for b in after.get("bindings", [])}
    assert members == {"roles/healthcare.dicomViewer": ["user:someone-else@example.com"]}
    project_policy = projects.getIamPolicy(resource=f"projects/{PROJECT}", body={}).execute()
    kept = {(b["role"], m) for b in project_policy["bindings"] for m in b["members"]}
    was = {(b["role"], m) for b in before_project["bindings"] for m in b["members"]}
    assert was - kept == {("roles/viewer", "group:imaging-team@example.com")}
    # APIs and the project stay by default.
    enabled = (
        google("serviceusage", "v1")
        .services()
        .list(parent=f"projects/{PROJECT}", filter="state:ENABLED")
        .execute()
    )
    names = {s["config"]["name"] for s in enabled.get("services", [])}
    assert "healthcare.googleapis.com" in names
    assert "APIs stay enabled" in result.stdout
    assert exists(projects.get(name=f"projects/{PROJECT}"))


def test_disable_services_and_a_named_project(cli: CliFn, applied: Path, google: Google) -> None:
    refused = cli("destroy", applied, "--site", "st-marys", "--disable-services", "--yes")
    assert refused.exit_code == 1
    assert "--disable-services applies to the whole blueprint only" in refused.stderr
    result = cli(
        "destroy", applied, "--yes", "--disable-services", "--allow-delete",
        f"project:projects/{PROJECT}",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "--disable-services: disables" in result.stdout
    project = google("cloudresourcemanager", "v3").projects().get(name=f"projects/{PROJECT}")
    assert project.execute()["state"] == "DELETE_REQUESTED"


def test_without_a_terminal_and_without_yes_nothing_is_removed(
    cli: CliFn, applied: Path, emulator: RunningEmulator
) -> None:
    clear_journal(emulator)
    result = cli("destroy", applied, "--site", "st-marys")
    assert result.exit_code == 1
    assert "refusing to apply without confirmation" in result.stderr
    assert mutations(emulator) == []
    assert bucket_exists(emulator, SITE_BUCKET)


def test_without_the_project_there_is_nothing_to_remove(
    cli: CliFn, dev: Path, emulator: RunningEmulator
) -> None:
    for extra in ((), ("--site", "st-marys")):
        result = cli("destroy", dev, "--yes", *extra)
        assert result.exit_code == 0, result.output
        assert "Nothing to remove: project:projects/imaging-dev-4821 does not exist" in (
            result.stdout
        )
    assert mutations(emulator) == []
