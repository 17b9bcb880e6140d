"""testIamPermissions on organizations, folders, billing accounts, Healthcare datasets and DICOM
stores: the permissions asked minus the `denied_permissions` setting, through the real clients."""

from __future__ import annotations

from typing import Any

import pytest
from googleapiclient.errors import HttpError

from provision.emulator.server import RunningEmulator
from tests.conftest import journal
from tests.emulator.clients import control, discovery_client
from tests.emulator.seeding import healthcare_client, seed_project

PROJECT = "perm-test"
DATASET = f"projects/{PROJECT}/locations/us-central1/datasets/ds"
STORE = f"{DATASET}/dicomStores/st"


def held(request: Any) -> list[str]:
    answer: dict[str, Any] = request.execute()
    return list(answer.get("permissions") or [])


def test_parents_and_billing_accounts_answer_what_is_not_denied(emulator: RunningEmulator) -> None:
    crm = discovery_client(emulator, "cloudresourcemanager", "v3")
    billing = discovery_client(emulator, "cloudbilling", "v1")
    asked = ["resourcemanager.projects.create", "resourcemanager.projects.get"]
    body = {"permissions": asked}
    assert held(crm.organizations().testIamPermissions(resource="organizations/1", body=body)) == (
        asked
    )
    control(emulator, "settings", {"denied_permissions": ["resourcemanager.projects.create"]})
    assert held(crm.folders().testIamPermissions(resource="folders/2", body=body)) == [
        "resourcemanager.projects.get"
    ]
    account = "billingAccounts/000000-AAAAAA-000000"
    control(emulator, "settings", {"denied_permissions": ["billing.resourceAssociations.create"]})
    only_denied = {"permissions": ["billing.resourceAssociations.create"]}
    assert (
        held(billing.billingAccounts().testIamPermissions(resource=account, body=only_denied)) == []
    )
    assert all(not entry["mutating"] for entry in journal(emulator))


def test_healthcare_datasets_and_stores(emulator: RunningEmulator) -> None:
    seed_project(emulator.world, PROJECT)
    hc = healthcare_client(emulator)
    datasets = hc.projects().locations().datasets()
    datasets.create(parent=DATASET.rsplit("/datasets/", 1)[0], datasetId="ds", body={}).execute()
    datasets.dicomStores().create(parent=DATASET, dicomStoreId="st", body={}).execute()
    asked = ["healthcare.dicomStores.create", "healthcare.datasets.get"]
    assert held(datasets.testIamPermissions(resource=DATASET, body={"permissions": asked})) == asked
    control(emulator, "settings", {"denied_permissions": ["healthcare.dicomStores.update"]})
    store_asked = ["healthcare.dicomStores.update", "healthcare.dicomStores.get"]
    answer = datasets.dicomStores().testIamPermissions(
        resource=STORE, body={"permissions": store_asked}
    )
    assert held(answer) == ["healthcare.dicomStores.get"]
    tests = [e for e in journal(emulator) if e["method_id"].endswith("testIamPermissions")]
    assert len(tests) == 2 and not any(e["mutating"] for e in tests)
    with pytest.raises(HttpError) as missing:
        datasets.dicomStores().testIamPermissions(
            resource=f"{DATASET}/dicomStores/absent", body={"permissions": store_asked}
        ).execute()
    assert missing.value.resp.status == 404
