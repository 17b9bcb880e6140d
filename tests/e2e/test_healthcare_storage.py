"""End to end through the CLI on the emulator: datasets, DICOM stores, buckets, their IAM, the
Cloud Healthcare Service Agent and its grants; ownership, deletion protection, drift and
eventual consistency. Out-of-band reads and writes use the plain Google client libraries."""

from __future__ import annotations

import shutil
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from provision.emulator import samples
from provision.emulator.server import RunningEmulator
from tests.e2e.conftest import (
    BILLING,
    CliFn,
    clear_journal,
    control,
    journal,
    mutations,
    set_faults,
    write_after_the_check,
)

REPO = Path(__file__).resolve().parents[2]
PROJECT = "e2e-imaging"
DATASET = f"projects/{PROJECT}/locations/us-central1/datasets/imaging"
STORE = f"{DATASET}/dicomStores/main"
SCRATCH = f"{DATASET}/dicomStores/scratch"
BUCKET = "e2e-imaging-import"
AGENT_ROLE = "roles/storage.objectViewer"

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
    timeZone: UTC
    dicomStores:
      - id: main
        labels:
          env: test
        iam:
          - role: roles/healthcare.dicomEditor
            members: [user:alice@example.com]
      - id: scratch
buckets:
  - name: {BUCKET}
    location: us-central1
serviceAgents:
  - service: healthcare.googleapis.com
imports:
  - dicomStore: imaging/main
    uri: gs://{BUCKET}/dicom/**.dcm
"""

Google = Callable[[str, str], Any]


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "imaging.yaml"
    path.write_text(BLUEPRINT, encoding="utf-8")
    return path


@pytest.fixture
def dev(tmp_path: Path) -> Path:
    """A copy of blueprints/dev.yaml with its site files."""
    target = tmp_path / "blueprints"
    shutil.copytree(REPO / "blueprints", target)
    return target / "dev.yaml"


def healthcare(google: Google) -> Any:
    return google("healthcare", "v1").projects().locations().datasets()


def project_number(google: Google, project: str) -> str:
    found = google("cloudresourcemanager", "v3").projects().get(name=f"projects/{project}")
    return str(found.execute()["name"]).split("/")[1]


def agent_of(google: Google, project: str) -> str:
    number = project_number(google, project)
    return f"serviceAccount:service-{number}@gcp-sa-healthcare.iam.gserviceaccount.com"


def bucket_members(emulator: RunningEmulator, bucket: str, role: str) -> list[str]:
    """Read a bucket policy with google-cloud-storage, as a user of the bucket would."""
    client = storage.Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": emulator.base_url},
    )
    policy = client.bucket(bucket).get_iam_policy(requested_policy_version=3)
    return sorted(m for b in policy.bindings if b["role"] == role for m in b["members"])


def stow(emulator: RunningEmulator, store: str, count: int = 1) -> None:
    """Store synthetic DICOM instances with STOW-RS (single-part application/dicom)."""
    for sample in samples.generate(count, seed=7):
        request = urllib.request.Request(
            f"{emulator.base_url}/v1/{store}/dicomWeb/studies",
            data=sample.data,
            method="POST",
            headers={"Content-Type": "application/dicom"},
        )
        with urllib.request.urlopen(request) as response:
            assert response.status == 200


def mutating_methods(emulator: RunningEmulator) -> list[str]:
    return [e["method_id"] for e in mutations(emulator)]


# ----- the dev blueprint


def test_dev_blueprint_applies_from_an_empty_world_and_converges(
    cli: CliFn, dev: Path, emulator: RunningEmulator, google: Google
) -> None:
    first = cli("plan", dev, "--detailed-exitcode")
    assert first.exit_code == 2, first.output
    assert "Plan: 14 to create, 0 to update, 0 to delete" in first.stdout
    # the role lint (a loader warning) is told on stderr, apart from the plan
    assert "warning: " in first.stderr and "includes healthcare.dicomStores.export" in first.stderr
    assert "warning: " not in first.stdout
    assert mutations(emulator) == []

    clear_journal(emulator)
    applied = cli("apply", dev, "--yes")
    assert applied.exit_code == 0, applied.output
    # 14 creations and 2 imports, which find no files yet (nothing was uploaded)
    assert "Apply complete: 14 done, 0 failed, 0 skipped, 2 with nothing to do." in applied.stdout
    assert "nothing to import yet" in applied.stderr
    failed = {(e["method_id"], e["status"]) for e in journal(emulator) if e["status"] >= 400}
    # the plan's read of the new project, and at most an IAM conflict on the project policy
    # (enabling the Healthcare API grants its agent a role there) restarted by the RMW, and the
    # look for the lease in the blueprint's bucket, which does not exist yet
    expected = {("projects.get", 403), ("projects.setIamPolicy", 409), ("objects.list", 404)}
    assert failed <= expected, failed

    # everything exists, labelled, as the plain Google APIs show it
    hc = healthcare(google)
    for dataset, store, env in (
        ("imaging-dev", "dicom-main", "dev"),
        ("general-imaging", "general-dicom", "dev"),
    ):
        name = f"projects/imaging-dev-4821/locations/us-central1/datasets/{dataset}"
        assert hc.get(name=name).execute()["timeZone"] == "UTC"
        found = hc.dicomStores().get(name=f"{name}/dicomStores/{store}").execute()
        assert found["labels"]["managed-by"] == "provision"
        assert found["labels"]["env"] == env
    gcs = google("storage", "v1")
    for bucket in ("imaging-dev-4821-dicom-import", "imaging-dev-4821-general-import"):
        found = gcs.buckets().get(bucket=bucket).execute()
        assert found["labels"]["managed-by"] == "provision"
        assert found["location"] == "US-CENTRAL1"
        assert found["iamConfiguration"]["uniformBucketLevelAccess"]["enabled"] is True
        agent = agent_of(google, "imaging-dev-4821")
        assert agent in bucket_members(emulator, bucket, AGENT_ROLE)
    store_policy = (
        hc.dicomStores()
        .getIamPolicy(
            resource="projects/imaging-dev-4821/locations/us-central1/datasets/imaging-dev"
            "/dicomStores/dicom-main"
        )
        .execute()
    )
    roles = {b["role"]: b["members"] for b in store_policy["bindings"]}
    assert roles["roles/healthcare.dicomViewer"] == ["group:imaging-viewers@example.com"]

    clear_journal(emulator)
    second = cli("plan", dev, "--detailed-exitcode")
    assert second.exit_code == 0, second.output
    assert second.stdout.startswith("No changes.")
    reads = journal(emulator)
    assert reads and all(not e["mutating"] for e in reads)
    # at most one read per object: project IAM and the service agent share the project policy's
    # read, a store and its imports share the store's, and the datasets and buckets come from
    # their scans' lists (tests/e2e/test_plan_reads.py counts them); a batch is not a read
    keys = [(e["method"], e["path"]) for e in reads if e["method_id"] != "batch"]
    repeated = {k for k in keys if keys.count(k) > 1}
    assert repeated == set(), repeated

    clear_journal(emulator)
    again = cli("apply", dev, "--yes")
    assert again.exit_code == 0, again.output
    assert mutations(emulator) == []


# ----- drift


def test_drift_on_store_labels_and_store_iam_is_detected_and_fixed(
    cli: CliFn, small: Path, emulator: RunningEmulator, google: Google
) -> None:
    assert cli("apply", small, "--yes").exit_code == 0
    stores = healthcare(google).dicomStores()
    stores.patch(
        name=STORE, updateMask="labels", body={"labels": {"env": "prod", "managed-by": "provision"}}
    ).execute()
    policy = stores.getIamPolicy(resource=STORE).execute()
    policy["bindings"] = [
        b for b in policy["bindings"] if b["role"] != "roles/healthcare.dicomEditor"
    ]
    stores.setIamPolicy(resource=STORE, body={"policy": policy}).execute()

    drifted = cli("plan", small, "--detailed-exitcode")
    assert drifted.exit_code == 2, drifted.output
    assert f"~ healthcare.dicom_store:{STORE}" in drifted.stdout
    assert 'labels.env: "prod" -> "test"' in drifted.stdout
    assert f"~ healthcare.dicom_store_iam:{STORE}" in drifted.stdout
    assert "+ user:alice@example.com" in drifted.stdout

    clear_journal(emulator)
    fixed = cli("apply", small, "--yes")
    assert fixed.exit_code == 0, fixed.output
    assert sorted(mutating_methods(emulator)) == [
        "projects.locations.datasets.dicomStores.patch",
        "projects.locations.datasets.dicomStores.setIamPolicy",
    ]
    patch = next(e for e in journal(emulator) if e["method"] == "PATCH")
    assert "updateMask=labels" in patch["query"]
    assert stores.get(name=STORE).execute()["labels"]["env"] == "test"
    assert cli("plan", small, "--detailed-exitcode").exit_code == 0


# ----- notification configs


def test_notification_configs_are_written_only_as_notification_configs(
    cli: CliFn, tmp_path: Path, emulator: RunningEmulator, google: Google
) -> None:
    """Several configs go in one `notificationConfigs` (Google refuses a body that also sets
    the deprecated `notificationConfig`); a store whose `notificationConfig` an older provision
    set is planned as having it first in the list, and moved there."""
    topics = [f"projects/{PROJECT}/topics/dicom-{x}" for x in ("a", "b")]
    configs = "".join(f"          - pubsubTopic: {topic}\n" for topic in topics)
    path = tmp_path / "notify.yaml"
    path.write_text(
        BLUEPRINT.replace(
            "      - id: scratch\n", f"      - id: scratch\n        notificationConfigs:\n{configs}"
        ),
        encoding="utf-8",
    )
    applied = cli("apply", path, "--yes")
    assert applied.exit_code == 0, applied.output
    stores = healthcare(google).dicomStores()
    listed = [{"pubsubTopic": topic} for topic in topics]
    store = stores.get(name=SCRATCH).execute()
    assert store["notificationConfigs"] == listed
    assert "notificationConfig" not in store
    assert cli("plan", path, "--detailed-exitcode").exit_code == 0

    # as older provision left it: the first config in the deprecated single field
    stores.patch(
        name=SCRATCH,
        updateMask="notificationConfig,notificationConfigs",
        body={"notificationConfig": {**listed[0], "sendForBulkImport": True}},
    ).execute()
    stores.patch(
        name=SCRATCH, updateMask="notificationConfigs", body={"notificationConfigs": listed[1:]}
    ).execute()
    planned = cli("plan", path, "--detailed-exitcode")
    assert planned.exit_code == 2, planned.output
    assert f"~ healthcare.dicom_store:{SCRATCH}" in planned.stdout
    assert "moving the deprecated notificationConfig into notificationConfigs" in planned.stdout
    clear_journal(emulator)
    moved = cli("apply", path, "--yes")
    assert moved.exit_code == 0, moved.output
    [patch] = [e for e in mutations(emulator) if e["method"] == "PATCH"]
    assert "updateMask=notificationConfig%2CnotificationConfigs" in patch["query"]
    store = stores.get(name=SCRATCH).execute()
    assert store["notificationConfigs"] == listed
    assert "notificationConfig" not in store
    assert cli("plan", path, "--detailed-exitcode").exit_code == 0


# ----- deletion protection


def test_a_store_removed_from_the_blueprint_is_forgotten_and_deleted_only_when_named(
    cli: CliFn, small: Path, emulator: RunningEmulator, google: Google, tmp_path: Path
) -> None:
    assert cli("apply", small, "--yes").exit_code == 0
    stow(emulator, SCRATCH, count=2)
    without = BLUEPRINT.replace("      - id: scratch\n", "")
    small.write_text(without, encoding="utf-8")
    address = f"healthcare.dicom_store:{SCRATCH}"

    forget = cli("plan", small, "--detailed-exitcode")
    assert forget.exit_code == 0, forget.output  # forget changes nothing
    assert f". {address}  (forget)" in forget.stdout
    assert "use --allow-delete to delete it" in forget.stdout
    clear_journal(emulator)
    assert cli("apply", small, "--yes").exit_code == 0
    assert mutations(emulator) == []
    assert healthcare(google).dicomStores().get(name=SCRATCH).execute()["name"] == SCRATCH

    # deletion protection (on by default) travels with the store as a label
    protected = cli("plan", small, "--allow-delete", address)
    assert protected.exit_code == 1
    assert "deletion protection is on" in protected.output
    unprotect = BLUEPRINT.replace(
        "      - id: scratch\n", "      - id: scratch\n        deletionProtection: false\n"
    )
    small.write_text(unprotect, encoding="utf-8")
    assert cli("apply", small, "--yes").exit_code == 0
    labels = healthcare(google).dicomStores().get(name=SCRATCH).execute()["labels"]
    assert labels["deletion-protection"] == "false"
    small.write_text(without, encoding="utf-8")

    named = cli("plan", small, "--allow-delete", address, "--out", tmp_path / "delete.json")
    assert named.exit_code == 0, named.output
    assert f"- {address}  (delete)" in named.stdout
    assert "holds 1 DICOM study" in named.stdout

    refused = cli("apply", tmp_path / "delete.json", "--yes")
    assert refused.exit_code != 0
    assert f"--allow-delete {address}" in refused.output
    assert healthcare(google).dicomStores().get(name=SCRATCH).execute()["name"] == SCRATCH

    deleted = cli("apply", small, "--yes", "--allow-delete", address)
    assert deleted.exit_code == 0, deleted.output
    listed = healthcare(google).dicomStores().list(parent=DATASET).execute()["dicomStores"]
    assert [s["name"] for s in listed] == [STORE]
    assert cli("plan", small, "--detailed-exitcode").exit_code == 0


def test_a_dropped_bucket_and_dataset_are_found_by_their_scans(
    cli: CliFn, small: Path, emulator: RunningEmulator, google: Google
) -> None:
    extra = BLUEPRINT.replace(
        "buckets:\n",
        "  - id: old\n    location: us-central1\n    deletionProtection: false\n"
        "    dicomStores:\n      - id: s1\n"
        "buckets:\n  - name: e2e-imaging-old\n",
    )
    small.write_text(extra, encoding="utf-8")
    assert cli("apply", small, "--yes").exit_code == 0
    small.write_text(BLUEPRINT, encoding="utf-8")
    plan = cli("plan", small)
    assert plan.exit_code == 0, plan.output
    old = f"projects/{PROJECT}/locations/us-central1/datasets/old"
    assert f". healthcare.dataset:{old}  (forget)" in plan.stdout
    assert ". storage.bucket:projects/_/buckets/e2e-imaging-old  (forget)" in plan.stdout

    gone = cli(
        "apply",
        small,
        "--yes",
        "--allow-delete",
        f"healthcare.dataset:{old}",
        "--allow-delete",
        "storage.bucket:projects/_/buckets/e2e-imaging-old",
    )
    assert gone.exit_code == 0, gone.output
    datasets = healthcare(google).list(parent=f"projects/{PROJECT}/locations/us-central1")
    assert [d["name"] for d in datasets.execute()["datasets"]] == [DATASET]
    buckets = google("storage", "v1").buckets().list(project=PROJECT).execute()
    assert [b["name"] for b in buckets["items"]] == [BUCKET]


# ----- ownership


def test_existing_objects_need_adopt_and_are_then_managed_as_they_are(
    cli: CliFn, small: Path, emulator: RunningEmulator, google: Google
) -> None:
    without = BLUEPRINT.replace("        labels:\n          env: test\n", "")
    small.write_text(without.split("buckets:")[0], encoding="utf-8")
    assert cli("apply", small, "--yes").exit_code == 0
    gcs = google("storage", "v1")
    gcs.buckets().insert(
        project=PROJECT, body={"name": BUCKET, "location": "US-CENTRAL1"}
    ).execute()
    healthcare(google).dicomStores().create(
        parent=DATASET, dicomStoreId="pacs", body={"labels": {"team": "pacs"}}
    ).execute()
    declared = BLUEPRINT.replace("      - id: scratch\n", "      - id: scratch\n      - id: pacs\n")
    small.write_text(declared, encoding="utf-8")

    refused = cli("plan", small)
    assert refused.exit_code == 1
    assert f"storage.bucket:projects/_/buckets/{BUCKET}: this bucket already exists" in (
        refused.output
    )
    assert f"healthcare.dicom_store:{DATASET}/dicomStores/pacs: this DICOM store" in (
        refused.output
    )
    assert "add `adopt: true`" in refused.output

    adopting = declared.replace("      - id: pacs\n", "      - id: pacs\n        adopt: true\n")
    adopting = adopting.replace(
        "    location: us-central1\nservice", "    location: us-central1\n    adopt: true\nservice"
    )
    small.write_text(adopting, encoding="utf-8")
    # adopting adds no label (the blueprint entry is the record); declared fields still apply
    plan = cli("plan", small)
    assert plan.exit_code == 0, plan.output
    assert "adopted: an existing bucket not created by provision" in plan.stdout
    assert "managed-by" not in plan.stdout and "dicomStores/pacs" not in plan.stdout
    assert cli("apply", small, "--yes").exit_code == 0
    assert "managed-by" not in (gcs.buckets().get(bucket=BUCKET).execute().get("labels") or {})
    store = healthcare(google).dicomStores().get(name=f"{DATASET}/dicomStores/pacs").execute()
    assert store["labels"] == {"team": "pacs"}
    assert cli("plan", small, "--detailed-exitcode").exit_code == 0
    # what provision did not create, destroy keeps
    kept = cli("destroy", small, "--yes")
    assert kept.exit_code == 0, kept.output
    assert gcs.buckets().get(bucket=BUCKET).execute()["name"] == BUCKET


def test_a_changed_dataset_location_is_an_error_not_a_replacement(
    cli: CliFn, small: Path, emulator: RunningEmulator
) -> None:
    assert cli("apply", small, "--yes").exit_code == 0
    moved = BLUEPRINT.replace(
        "  - id: imaging\n    location: us-central1\n",
        "  - id: imaging\n    location: europe-west4\n",
    )
    small.write_text(moved, encoding="utf-8")
    clear_journal(emulator)
    plan = cli("plan", small)
    assert plan.exit_code == 1
    assert "location: dataset 'imaging' already exists in us-central1" in plan.output
    assert mutations(emulator) == []


def test_time_zone_is_patched_in_place(
    cli: CliFn, small: Path, emulator: RunningEmulator, google: Google
) -> None:
    assert cli("apply", small, "--yes").exit_code == 0
    small.write_text(BLUEPRINT.replace("timeZone: UTC", "timeZone: Europe/Paris"), encoding="utf-8")
    clear_journal(emulator)
    assert cli("apply", small, "--yes").exit_code == 0
    [patch] = mutations(emulator)
    assert patch["method_id"] == "projects.locations.datasets.patch"
    assert "updateMask=timeZone" in patch["query"]
    assert healthcare(google).get(name=DATASET).execute()["timeZone"] == "Europe/Paris"


# ----- eventual consistency


def test_enabling_healthcare_on_an_existing_project_waits_and_retries(
    cli: CliFn, small: Path, emulator: RunningEmulator, google: Google
) -> None:
    control(emulator, "projects", {"projectId": PROJECT, "billingAccountName": BILLING})
    clear_journal(emulator)
    plan = cli("plan", small, "--detailed-exitcode")
    assert plan.exit_code == 2, plan.output
    assert "healthcare.googleapis.com will be enabled first" in plan.stdout
    assert not [e for e in journal(emulator) if e["api"] == "healthcare"]

    # long enough that each next call still meets the delay on a loaded machine
    set_faults(
        emulator,
        service_enable_propagation_s=1.5,
        dataset_init_s=1.5,
        service_agent_delay_s=1.5,
        service_identity_delay_s=1.5,
        auto_grant_service_agent_role=False,
    )
    clear_journal(emulator)
    applied = cli("apply", small, "--yes")
    assert applied.exit_code == 0, applied.output
    entries = journal(emulator)
    assert any(e["status"] == 403 and e["api"] == "healthcare" for e in entries)
    assert any(
        e["status"] == 404 and e["method_id"] == "projects.locations.datasets.dicomStores.create"
        for e in entries
    )
    # the agent's role grant met 400 "does not exist" and waited for the agent to appear
    assert any(e["status"] == 400 and e["method_id"] == "projects.setIamPolicy" for e in entries)
    agent = agent_of(google, PROJECT)
    assert agent in bucket_members(emulator, BUCKET, AGENT_ROLE)
    crm = google("cloudresourcemanager", "v3")
    policy = crm.projects().getIamPolicy(resource=f"projects/{PROJECT}", body={}).execute()
    agent_roles = {b["role"] for b in policy["bindings"] if agent in b["members"]}
    assert agent_roles == {"roles/healthcare.serviceAgent"}
    assert cli("plan", small, "--detailed-exitcode").exit_code == 0


def test_an_api_disabled_long_ago_is_not_retried(
    cli: CliFn, small: Path, emulator: RunningEmulator
) -> None:
    assert cli("apply", small, "--yes").exit_code == 0
    services = BLUEPRINT.replace("  - healthcare.googleapis.com\n", "")
    set_faults(emulator, service_enable_propagation_s=3600)
    small.write_text(services, encoding="utf-8")
    clear_journal(emulator)
    # healthcare is enabled, but answers SERVICE_DISABLED as if propagating: not enabled by
    # this run, so the first 403 fails the plan at once
    plan = cli("plan", small)
    assert plan.exit_code == 1
    assert "SERVICE_DISABLED" in plan.output or "has not been used" in plan.output
    healthcare_calls = [e for e in journal(emulator) if e["api"] == "healthcare"]
    assert healthcare_calls and all(e["status"] == 403 for e in healthcare_calls)
    assert len({(e["method"], e["path"]) for e in healthcare_calls}) == len(healthcare_calls)


# ----- ambiguous writes


def test_writes_that_commit_and_then_fail_are_adopted_not_duplicated(
    cli: CliFn, dev: Path, emulator: RunningEmulator
) -> None:
    """Each Healthcare and Storage write commits and then answers 503 once."""
    writes = [
        ("healthcare", "projects.locations.datasets.create"),
        ("healthcare", "projects.locations.datasets.dicomStores.create"),
        ("healthcare", "projects.locations.datasets.dicomStores.setIamPolicy"),
        ("storage", "buckets.insert"),
        ("storage", "buckets.setIamPolicy"),
        ("serviceusage", "services.generateServiceIdentity"),
    ]
    set_faults(
        emulator,
        rules=[
            {"api": api, "method_id": method, "status": 503, "after_commit": True, "times": 2}
            for api, method in writes
        ],
    )
    applied = cli("apply", dev, "--yes")
    assert applied.exit_code == 0, applied.output
    entries = journal(emulator)
    injected = {(e["api"], e["method_id"]) for e in entries if e.get("injected") == "after-commit"}
    assert injected == set(writes)
    # the retried creates heard 409 and read the object back instead of failing
    conflicts = {e["method_id"] for e in entries if e["status"] == 409}
    assert {
        "projects.locations.datasets.create",
        "projects.locations.datasets.dicomStores.create",
        "buckets.insert",
    } <= conflicts
    clear_journal(emulator)
    assert cli("plan", dev, "--detailed-exitcode").exit_code == 0


def test_a_concurrent_bucket_policy_writer_is_not_lost_on_412(
    cli: CliFn,
    small: Path,
    tmp_path: Path,
    emulator: RunningEmulator,
    google: Google,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Storage answers a stale etag with 412 conditionNotMet; the read-modify-write restarts
    and keeps both the other writer's binding and Storage's legacy bindings. The other writer
    gets in after the saved plan was checked against a fresh plan, right before apply writes."""
    assert cli("apply", small, "--yes").exit_code == 0
    small.write_text(
        BLUEPRINT.replace(
            "    location: us-central1\nserviceAgents:",
            "    location: us-central1\n    iam:\n      - role: roles/storage.objectCreator\n"
            "        members: [group:uploaders@example.com]\nserviceAgents:",
        ),
        encoding="utf-8",
    )
    saved = tmp_path / "plan.json"
    assert cli("plan", small, "--out", saved).exit_code == 0
    gcs = google("storage", "v1")

    def grant_another() -> None:
        policy = gcs.buckets().getIamPolicy(bucket=BUCKET).execute()
        member = {"role": "roles/storage.objectViewer", "members": ["user:w@x.com"]}
        policy["bindings"].append(member)
        gcs.buckets().setIamPolicy(bucket=BUCKET, body=policy).execute()

    write_after_the_check(monkeypatch, grant_another)
    clear_journal(emulator)
    applied = cli("apply", saved)
    assert applied.exit_code == 0, applied.output
    sets = [e["status"] for e in journal(emulator) if e["method_id"] == "buckets.setIamPolicy"]
    assert sets == [200, 412, 200]  # the other writer's, then apply's stale one and its retry
    assert bucket_members(emulator, BUCKET, "roles/storage.objectCreator") == [
        "group:uploaders@example.com"
    ]
    viewers = bucket_members(emulator, BUCKET, AGENT_ROLE)
    assert "user:w@x.com" in viewers and agent_of(google, PROJECT) in viewers
    owners = bucket_members(emulator, BUCKET, "roles/storage.legacyBucketOwner")
    assert owners == [f"projectEditor:{PROJECT}", f"projectOwner:{PROJECT}"]
