"""Blueprint `imports` -> `healthcare.dicom_import` resources (one per entry).

An import depends on its DICOM store, and, when the blueprint declares them, on the source bucket,
that bucket's IAM (where the Cloud Healthcare Service Agent gets `roles/storage.objectViewer`) and
the service agent itself, so apply runs it only once the agent can read the objects. Its
`blobStorageClass` is its own, else its store's.
"""

from __future__ import annotations

from collections.abc import Sequence

from provision.blueprint.loader import LoadedBlueprint
from provision.model import Address, Resource
from provision.resources import addresses
from provision.resources.healthcare import SERVICE as HEALTHCARE


def store_address(loaded: LoadedBlueprint, ref: str) -> Address:
    """The DICOM store `DATASET/STORE` (validation guarantees both are declared)."""
    blueprint = loaded.blueprint
    dataset_id, _, store_id = ref.partition("/")
    location = next((d.location for d in blueprint.datasets if d.id == dataset_id), "")
    dataset = addresses.dataset_name(blueprint.project.id, location, dataset_id)
    return addresses.dicom_store(dataset, store_id)


def store_class(loaded: LoadedBlueprint, ref: str) -> str | None:
    """The `blobStorageClass` of the store `DATASET/STORE` (the default of its imports)."""
    dataset_id, _, store_id = ref.partition("/")
    for dataset in loaded.blueprint.datasets:
        for store in dataset.dicom_stores if dataset.id == dataset_id else ():
            if store.id == store_id:
                return store.blob_storage_class
    return None


def with_imports(loaded: LoadedBlueprint, resources: Sequence[Resource]) -> list[Resource]:
    """`resources` followed by one import resource per blueprint `imports` entry."""
    blueprint = loaded.blueprint
    declared = {r.address for r in resources}
    agent = addresses.service_agent(blueprint.project.id, HEALTHCARE)
    out = list(resources)
    seen: set[Address] = set()
    for index, entry in enumerate(blueprint.imports):
        store = store_address(loaded, entry.dicom_store)
        address = addresses.dicom_import(store.name, entry.uri)
        if address in seen:
            continue
        seen.add(address)
        bucket = addresses.bucket_of_uri(entry.uri)
        wanted = (
            store,
            addresses.bucket(bucket),
            addresses.bucket_iam(bucket),
            agent,
        )
        deps = tuple(a for a in wanted if a in declared)
        spec = {"store": store.name, "uri": entry.uri}
        storage_class = entry.blob_storage_class or store_class(loaded, entry.dicom_store)
        if storage_class:
            spec["blobStorageClass"] = storage_class
        out.append(Resource(address, spec, deps, loaded.locate(f"imports[{index}]")))
    return out
