"""`provision export`: a project built by hand with Google's client libraries, the way the OHIF
page does it (project, APIs, dataset, store, import bucket, grants), round-trips: export, then
`plan --detailed-exitcode` exits 0 (No changes); export only reads."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from provision.emulator.server import RunningEmulator
from tests.e2e.conftest import CliFn, clear_journal, journal

PROJECT = "ohif-by-hand"
LOCATION = f"projects/{PROJECT}/locations/us-central1"
DATASET = f"{LOCATION}/datasets/pacs"
STORE = f"{DATASET}/dicomStores/studies"
BUCKET = f"{PROJECT}-dicom"
BILLING = "billingAccounts/000000-AAAAAA-000000"
Google = Callable[[str, str], Any]


def done(operation: dict[str, Any], operations: Any) -> None:
    while not operation.get("done"):
        operation = operations.get(name=operation["name"]).execute()


def build_by_hand(google: Google) -> str:
    """What the OHIF page's steps make; returns the project number."""
    crm = google("cloudresourcemanager", "v3")
    done(crm.projects().create(body={"projectId": PROJECT}).execute(), crm.operations())
    number = crm.projects().get(name=f"projects/{PROJECT}").execute()["name"].split("/")[1]
    billing = google("cloudbilling", "v1").projects()
    billing.updateBillingInfo(
        name=f"projects/{PROJECT}", body={"billingAccountName": BILLING}
    ).execute()
    usage = google("serviceusage", "v1")
    for api in ("healthcare.googleapis.com", "storage.googleapis.com"):
        name = f"projects/{PROJECT}/services/{api}"
        done(usage.services().enable(name=name, body={}).execute(), usage.operations())
    hc = google("healthcare", "v1").projects().locations().datasets()
    done(hc.create(parent=LOCATION, datasetId="pacs", body={}).execute(), hc.operations())
    hc.dicomStores().create(parent=DATASET, dicomStoreId="studies", body={}).execute()
    store_policy = {
        "bindings": [
            {"role": "roles/healthcare.dicomViewer", "members": ["user:radiologist@example.com"]}
        ]
    }
    hc.dicomStores().setIamPolicy(resource=STORE, body={"policy": store_policy}).execute()
    gcs = google("storage", "v1")
    gcs.buckets().insert(
        project=PROJECT,
        body={
            "name": BUCKET,
            "location": "US-CENTRAL1",
            "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": True}},
        },
    ).execute()
    policy = gcs.buckets().getIamPolicy(bucket=BUCKET).execute()
    agent = f"serviceAccount:service-{number}@gcp-sa-healthcare.iam.gserviceaccount.com"
    policy["bindings"].append({"role": "roles/storage.objectViewer", "members": [agent]})
    gcs.buckets().setIamPolicy(bucket=BUCKET, body=policy).execute()
    return str(number)


def test_a_hand_built_project_round_trips(
    cli: CliFn, google: Google, emulator: RunningEmulator, tmp_path: Path
) -> None:
    build_by_hand(google)
    clear_journal(emulator)
    out = tmp_path / "exported"
    exported = cli("export", "--project", PROJECT, "--out", out)
    assert exported.exit_code == 0, exported.output
    assert not [e for e in journal(emulator) if e["mutating"]]  # reads only
    blueprint = out / "blueprint.yaml"
    document = yaml.safe_load(blueprint.read_text(encoding="utf-8"))
    assert document["project"] == {"id": PROJECT, "create": False, "billingAccount": BILLING}
    assert {"healthcare.googleapis.com", "storage.googleapis.com"} <= set(document["services"])
    [dataset] = document["datasets"]
    assert dataset["adopt"] is True and dataset["dicomStores"][0]["id"] == "studies"
    assert dataset["dicomStores"][0]["iam"] == [
        {"role": "roles/healthcare.dicomViewer", "members": ["user:radiologist@example.com"]}
    ]
    [bucket] = document["buckets"]
    assert bucket["name"] == BUCKET and bucket["adopt"] is True
    assert document["serviceAgents"] == [
        {
            "service": "healthcare.googleapis.com",
            "grants": [{"role": "roles/storage.objectViewer", "bucket": BUCKET}],
        }
    ]
    assert cli("validate", blueprint).exit_code == 0

    planned = cli("plan", blueprint, "--detailed-exitcode")
    assert planned.exit_code == 0, planned.output
    assert planned.stdout.startswith("No changes.")

    shown = json.loads(cli("show", blueprint, "--format", "json").stdout)
    urls = [o["outputs"]["dicomweb"] for o in shown["objects"] if "dicomweb" in o["outputs"]]
    assert urls == [f"{emulator.base_url}/v1/{STORE}/dicomWeb"]


def test_export_of_a_missing_project_is_an_error(cli: CliFn, tmp_path: Path) -> None:
    result = cli("export", "--project", "nobody-home", "--out", tmp_path)
    assert result.exit_code == 1
    assert "project nobody-home does not exist" in result.stderr
    assert not (tmp_path / "blueprint.yaml").exists()
