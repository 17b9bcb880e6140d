"""`provision destroy` end to end on the emulator: only owned, empty objects go; data stays
unless named; IAM loses exactly the blueprint's members; APIs and the project stay unless asked.

Each kind's rules, case by case, are its removal cases (`tests/planner_cases/cases/`); these
tests check the reads, the order of the deletes and the re-checks right before them."""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage
from googleapiclient.errors import HttpError

from provision.emulator import samples
from provision.emulator.server import RunningEmulator
from provision.gcp.api import GoogleApi
from provision.gcp.credentials import Target
from provision.gcp.settings import FAST_TIMING
from provision.model import Address, Resource
from provision.resources import registry
from provision.resources.base import HOLDS, Context
from tests.e2e.cli import FAST_ENV
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
    assert "The site file" in result.stdout and "stays (its kept objects" in result.stdout
    assert (applied.parent / "sites" / "st-marys.yaml").exists()
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
    # Nothing of the site is left: --yes also removes its site file, and the plan settles.
    assert "Removed the site file" in named.stdout
    assert not (applied.parent / "sites" / "st-marys.yaml").exists()
    settled = cli("plan", applied, "--detailed-exitcode")
    assert settled.exit_code == 0, settled.output


def test_only_the_exact_lease_object_counts_as_empty(
    cli: CliFn, applied: Path, emulator: RunningEmulator
) -> None:
    bucket = gcs(emulator).bucket(SITE_BUCKET)
    for name in ("provision-locks/a.dcm", "provision-locks/b.dcm"):
        bucket.blob(name).upload_from_string(b"DICM")
    kept = cli("destroy", applied, "--site", "st-marys", "--yes")
    assert kept.exit_code == 0, kept.output
    assert f"storage.bucket:projects/_/buckets/{SITE_BUCKET}  (forget)" in kept.stdout
    assert sorted(b.name for b in bucket.list_blobs()) == [
        "provision-locks/a.dcm",
        "provision-locks/b.dcm",
    ]
    # the lease object of this very project is bookkeeping: it goes with the bucket
    for blob in bucket.list_blobs():
        blob.delete()
    bucket.blob(f"provision-locks/{PROJECT}.lease").upload_from_string(b"")
    removed = cli("destroy", applied, "--site", "st-marys", "--yes")
    assert removed.exit_code == 0, removed.output
    assert not bucket_exists(emulator, SITE_BUCKET)


def test_what_a_dataset_holds_is_read_for_every_store_type(
    applied: Path, emulator: RunningEmulator, google: Google
) -> None:
    """The read destroy's decision rests on (the decisions themselves: the removal cases of
    `tests/planner_cases/cases/healthcare.dataset.yaml`)."""
    datasets = healthcare(google)
    for kind, body in (
        ("fhirStores", {"version": "R4"}),
        ("hl7V2Stores", {}),
        ("consentStores", {}),
    ):
        id_param = {f"{kind[:-1]}Id": "other"}
        getattr(datasets, kind)().create(parent=SITE_DATASET, body=body, **id_param).execute()
    api = GoogleApi(Target(endpoint=emulator.base_url), FAST_TIMING)
    resource = Resource(Address("healthcare.dataset", SITE_DATASET), {})
    state = registry.get("healthcare.dataset").removal_read(Context.create(api), resource)
    assert state is not None
    assert state[HOLDS] == [
        "consentStores/other",
        "dicomStores/st-marys-dicom",
        "fhirStores/other",
        "hl7V2Stores/other",
    ]
    assert state["contents"] == (
        "holds 4 store(s): consent store other, st-marys-dicom, FHIR store other, HL7v2 store other"
    )


def destroy_at_prompt(
    emulator: RunningEmulator, args: list[str], meanwhile: Callable[[], None]
) -> tuple[int, str]:
    """`provision destroy ARGS` as a process on a terminal: once it asks for confirmation, run
    `meanwhile`, then answer `yes`. Returns the exit code and the output."""
    env = {**os.environ, **FAST_ENV, "PROVISION_ENDPOINT": emulator.base_url}
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "provision.cli", "destroy", *args],
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    os.close(terminal)
    assert process.stdout is not None
    seen = b""
    try:
        while b"Only 'yes' is accepted" not in seen:
            chunk = os.read(process.stdout.fileno(), 65536)
            assert chunk, seen.decode()
            seen += chunk
        meanwhile()
        os.write(controller, b"yes\n")
        rest, _ = process.communicate(timeout=120)
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
    return process.wait(), (seen + rest).decode()


def test_data_arriving_while_destroy_waits_for_confirmation_is_kept(
    applied: Path, emulator: RunningEmulator, google: Google
) -> None:
    def upload_and_import() -> None:
        bucket = gcs(emulator).bucket(SITE_BUCKET)
        for sample in samples.generate(2, seed=11):
            bucket.blob(f"dicom/{sample.sop_uid}.dcm").upload_from_string(sample.data)
        operation = (
            healthcare(google)
            .dicomStores()
            .import_(
                name=SITE_STORE, body={"gcsSource": {"uri": f"gs://{SITE_BUCKET}/dicom/**.dcm"}}
            )
            .execute()
        )
        assert "error" not in operation

    code, output = destroy_at_prompt(
        emulator, [str(applied), "--site", "st-marys"], upload_and_import
    )
    assert code == 1, output
    assert f"- healthcare.dicom_store:{SITE_STORE}  (delete)" in output  # planned while empty
    assert f"- storage.bucket:projects/_/buckets/{SITE_BUCKET}  (delete)" in output
    assert "refused: it holds 1 DICOM study now (it was empty when planned); kept" in output
    assert "refused: it holds objects now (it was empty when planned); kept" in output
    assert "2 removal(s) refused" in output
    assert bucket_exists(emulator, SITE_BUCKET)
    assert len(list(gcs(emulator).bucket(SITE_BUCKET).list_blobs())) == 2
    studies = (
        healthcare(google).dicomStores().searchForStudies(parent=SITE_STORE, dicomWebPath="studies")
    )
    assert exists(studies)


def test_a_store_appearing_in_a_named_dataset_meanwhile_keeps_the_dataset(
    applied: Path, emulator: RunningEmulator, google: Google
) -> None:
    def add_fhir_store() -> None:
        healthcare(google).fhirStores().create(
            parent=SITE_DATASET, fhirStoreId="ehr", body={"version": "R4"}
        ).execute()

    dataset = f"healthcare.dataset:{SITE_DATASET}"
    args = [str(applied), "--site", "st-marys", "--allow-delete", dataset]
    code, output = destroy_at_prompt(emulator, args, add_fhir_store)
    assert code == 1, output
    assert f"- {dataset}  (delete)" in output
    assert "refused: it holds 1 store(s): FHIR store ehr now (more than when planned)" in output
    assert exists(healthcare(google).get(name=SITE_DATASET))
    assert not exists(healthcare(google).dicomStores().get(name=SITE_STORE))  # it was empty
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
