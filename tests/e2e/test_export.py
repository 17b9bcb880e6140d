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
    assert "sites" not in document and not (out / "sites").exists()  # no site pattern: flat
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


def add_site_by_hand(google: Google, number: str, site: str) -> None:
    """One site as the project's site template makes it: dataset SITE-imaging, store
    SITE-dicom (labelled with the site), import bucket PROJECT-SITE-import the agent reads."""
    hc = google("healthcare", "v1").projects().locations().datasets()
    created = hc.create(parent=LOCATION, datasetId=f"{site}-imaging", body={"timeZone": "UTC"})
    done(created.execute(), hc.operations())
    hc.dicomStores().create(
        parent=f"{LOCATION}/datasets/{site}-imaging",
        dicomStoreId=f"{site}-dicom",
        body={"labels": {"site": site}},
    ).execute()
    gcs = google("storage", "v1")
    bucket = f"{PROJECT}-{site}-import"
    gcs.buckets().insert(
        project=PROJECT, body={"name": bucket, "location": "US-CENTRAL1"}
    ).execute()
    policy = gcs.buckets().getIamPolicy(bucket=bucket).execute()
    agent = f"serviceAccount:service-{number}@gcp-sa-healthcare.iam.gserviceaccount.com"
    policy["bindings"].append({"role": "roles/storage.objectViewer", "members": [agent]})
    gcs.buckets().setIamPolicy(bucket=bucket, body=policy).execute()


def test_sites_are_exported_as_a_template_and_site_files(
    cli: CliFn, google: Google, tmp_path: Path
) -> None:
    number = build_by_hand(google)
    for site in ("north", "south"):
        add_site_by_hand(google, number, site)
    out = tmp_path / "exported"
    exported = cli("export", "--project", PROJECT, "--out", out)
    assert exported.exit_code == 0, exported.output
    assert "2 site(s) (north, south)" in exported.stdout
    assert "DICOM imports are not exported" in exported.stdout
    document = yaml.safe_load((out / "blueprint.yaml").read_text(encoding="utf-8"))
    assert [d["id"] for d in document["datasets"]] == ["pacs"]  # not a site: a plain entry
    assert [b["name"] for b in document["buckets"]] == [BUCKET]
    template = document["sites"]["template"]
    assert document["sites"]["include"] == "sites/*.yaml"
    assert template["datasets"][0]["id"] == "{site}-imaging"
    assert template["datasets"][0]["dicomStores"][0]["labels"] == {"site": "{site}"}
    assert template["buckets"][0]["name"] == "{project}-{site}-import"
    assert template["serviceAgentGrants"] == [
        {"role": "roles/storage.objectViewer", "bucket": "{project}-{site}-import"}
    ]
    assert sorted(p.name for p in (out / "sites").iterdir()) == ["north.yaml", "south.yaml"]
    assert yaml.safe_load((out / "sites" / "north.yaml").read_text(encoding="utf-8")) == {
        "name": "north"
    }
    blueprint = out / "blueprint.yaml"
    assert cli("validate", blueprint).exit_code == 0
    planned = cli("plan", blueprint, "--detailed-exitcode")
    assert planned.exit_code == 0, planned.output
    assert planned.stdout.startswith("No changes.")


def test_stores_that_differ_per_site_stay_plain_entries(
    cli: CliFn, google: Google, tmp_path: Path
) -> None:
    number = build_by_hand(google)
    add_site_by_hand(google, number, "north")
    hc = google("healthcare", "v1").projects().locations().datasets()
    done(hc.create(parent=LOCATION, datasetId="east-imaging", body={}).execute(), hc.operations())
    hc.dicomStores().create(
        parent=f"{LOCATION}/datasets/east-imaging", dicomStoreId="other", body={}
    ).execute()
    out = tmp_path / "exported"
    assert cli("export", "--project", PROJECT, "--out", out).exit_code == 0
    document = yaml.safe_load((out / "blueprint.yaml").read_text(encoding="utf-8"))
    assert sorted(d["id"] for d in document["datasets"]) == ["east-imaging", "pacs"]
    assert [p.name for p in (out / "sites").iterdir()] == ["north.yaml"]
    planned = cli("plan", out / "blueprint.yaml", "--detailed-exitcode")
    assert planned.exit_code == 0, planned.output
