"""Objects provision labelled that the blueprint dropped: `forget` by default, `delete` only when
named with --allow-delete (pure: no API call is needed to decide)."""

from __future__ import annotations

from typing import cast

import pytest

from provision.errors import PlanError
from provision.gcp.api import GoogleApi
from provision.model import Action, Address, Observed, Resource
from provision.plan import orphan_change
from provision.resources import addresses, registry
from provision.resources.base import Context, Options
from provision.resources.symbols import Facts

DATASET = "projects/demo-imaging/locations/us-central1/datasets/imaging"


def context(*allow_delete: str) -> Context:
    # No API call may happen: an absent gateway makes any attempt fail loudly.
    return Context(cast(GoogleApi, None), Facts(), Options(allow_delete=frozenset(allow_delete)))


def dataset_observed() -> Observed:
    return Observed(
        exists=True,
        fields={
            "timeZone": "UTC",
            "stores": [
                {"id": "kept", "labels": {"managed-by": "provision"}, "managed": True},
                {"id": "dropped", "labels": {"managed-by": "provision"}, "managed": True},
                {"id": "theirs", "labels": {}, "managed": False},
            ],
        },
    )


def test_a_dropped_store_is_forgotten_and_a_foreign_one_never_reported() -> None:
    kind = registry.get("healthcare.dataset")
    resource = Resource(Address("healthcare.dataset", DATASET), {})
    desired = frozenset({addresses.dicom_store(DATASET, "kept")})
    ctx = context()
    found = list(kind.orphans(ctx, resource, dataset_observed(), desired))
    assert [str(a) for a, _ in found] == [f"healthcare.dicom_store:{DATASET}/dicomStores/dropped"]
    change = orphan_change(resource.address, found[0][0], found[0][1], ctx)
    assert change.action is Action.FORGET
    assert "use --allow-delete to delete it" in change.reason
    assert not change.is_mutation


def test_delete_only_for_the_address_named() -> None:
    address = addresses.dicom_store(DATASET, "dropped")
    seen = Observed(exists=True, fields={"contents": "holds 3 DICOM studies"})
    parent = Address("healthcare.dataset", DATASET)
    named = orphan_change(parent, address, seen, context(str(address)))
    assert named.action is Action.DELETE
    assert "holds 3 DICOM studies" in named.reason
    other = orphan_change(parent, address, seen, context(f"{address}-other"))
    assert other.action is Action.FORGET


def test_dropped_buckets_come_from_the_project_scan() -> None:
    kind = registry.get("storage.project")
    resource = Resource(addresses.storage_project("demo-imaging"), {"projectId": "demo-imaging"})
    observed = Observed(exists=True, fields={"managed": ["demo-a", "demo-b"]})
    desired = frozenset({addresses.bucket("demo-a")})
    found = list(kind.orphans(context(), resource, observed, desired))
    assert [a for a, _ in found] == [addresses.bucket("demo-b")]


def test_nothing_is_reported_under_an_object_being_created() -> None:
    kind = registry.get("healthcare.dataset")
    resource = Resource(Address("healthcare.dataset", DATASET), {})
    assert list(kind.orphans(context(), resource, Observed.absent(), frozenset())) == []


def test_a_protected_store_is_not_deleted_even_when_named() -> None:
    kind = registry.get("healthcare.dataset")
    resource = Resource(Address("healthcare.dataset", DATASET), {})
    observed = Observed(
        exists=True,
        fields={
            "stores": [
                {
                    "id": "dropped",
                    "labels": {"managed-by": "provision", "deletion-protection": "true"},
                    "managed": True,
                }
            ]
        },
    )
    named = str(addresses.dicom_store(DATASET, "dropped"))
    with pytest.raises(PlanError, match="deletion protection is on"):
        list(kind.orphans(context(named), resource, observed, frozenset()))
