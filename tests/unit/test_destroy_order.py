"""Destroy runs in reverse dependency order (pure)."""

from __future__ import annotations

from provision.destroy import reverse_dependencies
from provision.model import Action, Address, Change, Resource

PROJECT = Address("project", "projects/p")
SERVICES = Address("services", "projects/p/services")
DATASET = Address("healthcare.dataset", "projects/p/locations/l/datasets/d")
STORE = Address("healthcare.dicom_store", f"{DATASET.name}/dicomStores/s")
STORE_IAM = Address("healthcare.dicom_store_iam", STORE.name)

RESOURCES = [
    Resource(PROJECT, {}),
    Resource(SERVICES, {}, (PROJECT,)),
    Resource(DATASET, {}, (PROJECT, SERVICES)),
    Resource(STORE, {}, (DATASET,)),
    Resource(STORE_IAM, {}, (STORE,)),
]


def test_each_change_waits_for_everything_that_depended_on_its_object() -> None:
    changes = {
        SERVICES: Change(SERVICES, Action.UPDATE),
        DATASET: Change(DATASET, Action.DELETE),
        STORE_IAM: Change(STORE_IAM, Action.DELETE),
    }
    ordered = reverse_dependencies(changes, RESOURCES)
    # The store has no change of its own: the dataset still waits for its policy's change.
    assert ordered[DATASET].depends_on == (STORE_IAM,)
    assert set(ordered[SERVICES].depends_on) == {DATASET, STORE_IAM}
    assert ordered[STORE_IAM].depends_on == ()
