"""End to end on the emulator: DICOM imports as a plan step and `provision verify`.

Files are uploaded with google-cloud-storage and checked with the plain Google clients; the
emulator's journal proves which calls apply made."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from provision.emulator import samples
from provision.emulator.server import RunningEmulator
from provision.resources.dicom_import import label_key
from tests.e2e.conftest import BILLING, CliFn, clear_journal, journal, set_faults

PROJECT = "e2e-imports"
DATASET = f"projects/{PROJECT}/locations/us-central1/datasets/imaging"
STORE = f"{DATASET}/dicomStores/main"
BUCKET = "e2e-imports-src"
URI = f"gs://{BUCKET}/dicom/**.dcm"

BLUEPRINT = f"""\
version: 1
project:
  id: {PROJECT}
  billingAccount: {BILLING}
services:
  - healthcare.googleapis.com
  - storage.googleapis.com
datasets:
  - id: imaging
    location: us-central1
    iam:
      - role: roles/healthcare.datasetViewer
        members: [group:auditors@example.com]
    dicomStores:
      - id: main
        iam:
          - role: roles/healthcare.dicomViewer
            members: [group:radiologists@example.com]
buckets:
  - name: {BUCKET}
    location: us-central1
serviceAgents:
  - service: healthcare.googleapis.com
imports:
  - dicomStore: imaging/main
    uri: {URI}
"""

Google = Callable[[str, str], Any]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(BLUEPRINT, encoding="utf-8")
    return path


def upload(emulator: RunningEmulator, files: dict[str, bytes]) -> None:
    client = storage.Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": emulator.base_url},
    )
    bucket = client.bucket(BUCKET)
    for name, data in files.items():
        bucket.blob(name).upload_from_string(data, content_type="application/dicom")


def dicom_files(count: int) -> dict[str, bytes]:
    return {f"dicom/{s.path}": s.data for s in samples.generate(count, seed=3, studies=2)}


def import_calls(emulator: RunningEmulator) -> list[dict[str, Any]]:
    return [e for e in journal(emulator) if e["path"].endswith(":import")]


def store_labels(google: Google) -> dict[str, str]:
    stores = google("healthcare", "v1").projects().locations().datasets().dicomStores()
    labels = stores.get(name=STORE).execute().get("labels") or {}
    assert isinstance(labels, dict)
    return labels


def created_with_files(cli: CliFn, site: Path, emulator: RunningEmulator, count: int) -> None:
    """Apply from nothing (nothing to import yet), then upload `count` DICOM files."""
    first = cli("apply", site, "--yes")
    assert first.exit_code == 0, first.output
    assert "nothing to import yet" in first.stderr
    assert import_calls(emulator) == []
    upload(emulator, dicom_files(count))


def test_an_import_runs_once_and_a_second_apply_imports_nothing(
    cli: CliFn, site: Path, emulator: RunningEmulator, google: Google
) -> None:
    created_with_files(cli, site, emulator, 4)
    planned = cli("plan", site, "--detailed-exitcode")
    assert planned.exit_code == 2, planned.output
    assert "Plan: 0 to create, 0 to update, 0 to delete, 1 to run" in planned.stdout

    clear_journal(emulator)
    applied = cli("apply", site, "--yes")
    assert applied.exit_code == 0, applied.output
    assert "4 instances imported, 0 files failed" in applied.stderr
    assert len(import_calls(emulator)) == 1
    assert store_labels(google)[label_key(URI)].startswith("done-n4-g")

    clear_journal(emulator)
    again = cli("apply", site, "--yes")
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith("No changes.")
    assert import_calls(emulator) == []
    assert [e for e in journal(emulator) if e["mutating"]] == []

    forced = cli("apply", site, "--yes", "--reimport")
    assert forced.exit_code == 0, forced.output
    assert "--reimport" in forced.stdout
    assert len(import_calls(emulator)) == 1


def test_a_failed_import_reports_its_counts_and_fails_apply(
    cli: CliFn, site: Path, emulator: RunningEmulator, google: Google
) -> None:
    created_with_files(cli, site, emulator, 2)
    upload(emulator, {"dicom/notes.dcm": b"this is not DICOM"})
    failed = cli("apply", site, "--yes")
    assert failed.exit_code == 1, failed.output
    assert "2 instances imported, 1 file failed" in failed.output
    assert "Cloud Logging" in failed.output
    assert "Apply failed: 0 done, 1 failed" in failed.output
    assert store_labels(google)[label_key(URI)].startswith("op-")

    replanned = cli("plan", site)
    assert "the last import failed" in replanned.stdout
    assert "2 instances imported, 1 file failed" in replanned.stdout


def test_an_import_without_the_agents_bucket_grant_fails(
    cli: CliFn, site: Path, emulator: RunningEmulator
) -> None:
    site.write_text(
        BLUEPRINT.replace(
            "  - service: healthcare.googleapis.com\n",
            "  - service: healthcare.googleapis.com\n    grants: []\n",
        ),
        encoding="utf-8",
    )
    created_with_files(cli, site, emulator, 1)
    failed = cli("apply", site, "--yes")
    assert failed.exit_code == 1, failed.output
    assert "0 instances imported, 0 files failed" in failed.output
    assert "needs roles/storage.objectViewer on gs://e2e-imports-src" in failed.output
    verified = cli("verify", site)
    assert verified.exit_code == 1, verified.output
    assert "FAIL  service agent reads bucket" in verified.stdout


def test_a_running_import_is_awaited_not_started_again(
    cli: CliFn, site: Path, emulator: RunningEmulator, google: Google
) -> None:
    created_with_files(cli, site, emulator, 3)
    # An earlier apply started the import and was interrupted: the store names its operation.
    set_faults(emulator, lro_polls=4)
    stores = google("healthcare", "v1").projects().locations().datasets().dicomStores()
    operation = stores.import_(name=STORE, body={"gcsSource": {"uri": URI}}).execute()
    assert not operation.get("done")
    labels = {**store_labels(google), label_key(URI): "op-" + operation["name"].rsplit("/")[-1]}
    stores.patch(name=STORE, updateMask="labels", body={"labels": labels}).execute()

    planned = cli("plan", site)
    assert "still running" in planned.stdout, planned.output
    clear_journal(emulator)
    applied = cli("apply", site, "--yes")
    assert applied.exit_code == 0, applied.output
    assert "3 instances imported" in applied.stderr
    assert import_calls(emulator) == []
    assert store_labels(google)[label_key(URI)] == "done"


def test_verify_passes_after_the_full_flow_and_fails_when_a_grant_is_removed(
    cli: CliFn, site: Path, emulator: RunningEmulator, google: Google
) -> None:
    created_with_files(cli, site, emulator, 4)
    early = cli("verify", site)
    assert early.exit_code == 1, early.output
    assert "FAIL  import done" in early.stdout

    assert cli("apply", site, "--yes").exit_code == 0
    verified = cli("verify", site)
    assert verified.exit_code == 0, verified.output
    assert "Verify passed: 5 checks." in verified.stdout
    assert "2 studies, 4 instances" in verified.stdout
    assert "FAIL" not in verified.stdout

    # Someone removes the radiologists' store binding out of band.
    stores = google("healthcare", "v1").projects().locations().datasets().dicomStores()
    policy = stores.getIamPolicy(resource=STORE).execute()
    policy["bindings"] = [
        b for b in policy["bindings"] if b["role"] != "roles/healthcare.dicomViewer"
    ]
    stores.setIamPolicy(resource=STORE, body={"policy": policy}).execute()
    broken = cli("verify", site)
    assert broken.exit_code == 1, broken.output
    assert "FAIL  roles/healthcare.dicomViewer held" in broken.stdout
    assert "missing: group:radiologists@example.com" in broken.stdout
    assert "Verify failed: 1 of 5 checks failed." in broken.stdout


def test_an_import_waits_for_a_new_bucket_grant_to_take_effect(
    cli: CliFn, site: Path, emulator: RunningEmulator
) -> None:
    no_grant = BLUEPRINT.replace(
        "  - service: healthcare.googleapis.com\n",
        "  - service: healthcare.googleapis.com\n    grants: []\n",
    )
    site.write_text(no_grant, encoding="utf-8")
    created_with_files(cli, site, emulator, 2)
    # The grant and the import happen in one apply; Google honours a new binding only after a
    # while, and meanwhile the import is denied although the bucket policy lists the agent.
    site.write_text(BLUEPRINT, encoding="utf-8")
    set_faults(emulator, iam_effect_delay_s=0.3)
    clear_journal(emulator)
    applied = cli("apply", site, "--yes")
    assert applied.exit_code == 0, applied.output
    assert "2 instances imported, 0 files failed" in applied.stderr
    assert len(import_calls(emulator)) >= 2


def test_an_import_of_a_whole_bucket_never_reads_the_lease(
    cli: CliFn, tmp_path: Path, emulator: RunningEmulator, google: Google
) -> None:
    """The lease goes to the declared bucket no import reads, not to the first bucket."""
    declared = f"  - name: {BUCKET}\n    location: us-central1\n"
    archive = f"  - name: {PROJECT}-archive\n    location: us-central1\n"
    whole = BLUEPRINT.replace(URI, f"gs://{BUCKET}/**").replace(declared, declared + archive)
    path = tmp_path / "whole.yaml"
    path.write_text(whole, encoding="utf-8")
    first = cli("apply", path, "--yes")
    assert first.exit_code == 0, first.output
    upload(emulator, dicom_files(2))
    for _ in range(2):  # each run holds the lease while it imports every object of BUCKET
        again = cli("apply", path, "--yes", "--reimport")
        assert again.exit_code == 0, again.output
        assert f"Lease: gs://{PROJECT}-archive/provision-locks/{PROJECT}.lease held by" in (
            again.stderr
        )
    objects = google("storage", "v1").objects()
    names = [o["name"] for o in objects.list(bucket=BUCKET).execute().get("items", [])]
    assert not [n for n in names if n.startswith("provision-locks/")]


def test_a_file_added_under_an_imported_uri_makes_the_next_plan_run_that_import(
    cli: CliFn, site: Path, emulator: RunningEmulator, google: Google
) -> None:
    created_with_files(cli, site, emulator, 4)
    assert cli("apply", site, "--yes").exit_code == 0
    settled = cli("plan", site, "--detailed-exitcode")
    assert settled.exit_code == 0, settled.output

    extra = samples.generate(1, seed=11, studies=1)[0]
    upload(emulator, {f"dicom/later/{extra.path}": extra.data})
    planned = cli("plan", site, "--detailed-exitcode")
    assert planned.exit_code == 2, planned.output
    assert "Plan: 0 to create, 0 to update, 0 to delete, 1 to run" in planned.stdout
    assert (
        f"1 object under {URI} new or rewritten since the last import (which read 4; 5 now)"
        in planned.stdout
    )

    clear_journal(emulator)
    applied = cli("apply", site, "--yes")
    assert applied.exit_code == 0, applied.output
    assert len(import_calls(emulator)) == 1
    assert store_labels(google)[label_key(URI)].startswith("done-n5-g")
    again = cli("plan", site, "--detailed-exitcode")
    assert again.exit_code == 0, again.output


MORE = f"gs://{BUCKET}/more/**.dcm"


def test_reimport_names_one_import_and_plain_reimport_reruns_all(
    cli: CliFn, site: Path, emulator: RunningEmulator, google: Google
) -> None:
    site.write_text(BLUEPRINT + f"  - dicomStore: imaging/main\n    uri: {MORE}\n", "utf-8")
    created_with_files(cli, site, emulator, 2)
    upload(emulator, {f"more/{s.path}": s.data for s in samples.generate(1, seed=5, studies=1)})
    assert cli("apply", site, "--yes").exit_code == 0
    assert cli("plan", site, "--detailed-exitcode").exit_code == 0
    more = f"healthcare.dicom_import:{STORE}/imports/{label_key(MORE).rsplit('-', 1)[-1]}"

    for named in (MORE, more, more.partition(":")[2]):
        planned = cli("plan", site, "--reimport", named, "--detailed-exitcode")
        assert planned.exit_code == 2, planned.output
        assert "1 to run" in planned.stdout, named
        assert f"  > {more}  (run)" in planned.stdout

    clear_journal(emulator)
    applied = cli("apply", site, f"--reimport={more}", "--yes")
    assert applied.exit_code == 0, applied.output
    assert len(import_calls(emulator)) == 1
    assert "1 to run" in applied.stdout
    assert f"  > {more}  (run)" in applied.stdout

    everything = cli("plan", site, "--reimport")
    assert "2 to run" in everything.stdout, everything.output

    unknown = cli("plan", site, "--reimport", f"gs://{BUCKET}/nowhere/**")
    assert unknown.exit_code == 1
    assert f"--reimport gs://{BUCKET}/nowhere/**: the blueprint has no import" in unknown.stderr
    assert more in unknown.stderr
