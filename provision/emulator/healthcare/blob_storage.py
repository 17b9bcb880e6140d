"""Blob storage classes of DICOM instances, as v1 offers them: an import stores its instances in
`blobStorageSettings.blobStorageClass` (STANDARD when unspecified; STOW-RS always STANDARD),
`dicomStores.setBlobStorageSettings` moves a store's instances (or those a filter file names) to
another class, notifying each move (`SetBlobSettings`, with `previousStorageClass`), and
`instances.getStorageInfo` reads an instance's class. A v1 DICOM store itself has no storage
class field.
"""

from __future__ import annotations

import json
from typing import Any

from provision.emulator.core.errors import invalid_argument
from provision.emulator.core.world import World
from provision.emulator.dicomweb import instances
from provision.emulator.healthcare import destinations, resource_paths

SET_METHOD = "google.cloud.healthcare.v1.dicom.DicomService.SetBlobStorageSettings"
SET_RESPONSE_TYPE = (
    "type.googleapis.com/google.cloud.healthcare.v1.dicom.SetBlobStorageSettingsResponse"
)
CLASSES = frozenset({"STANDARD", "NEARLINE", "COLDLINE", "ARCHIVE"})


def set_store_class(
    world: World, store: dict[str, Any], project: dict[str, Any], body: dict[str, Any]
) -> tuple[dict[str, int], dict[str, Any] | None]:
    """Move the selected instances of `store` to the requested class now; (counter, error)."""
    wanted = (body.get("blobStorageSettings") or {}).get("blobStorageClass")
    if wanted not in CLASSES:
        raise invalid_argument("blobStorageSettings.blobStorageClass must name a storage class.")
    selected: resource_paths.Selector = resource_paths.everything
    uri = (body.get("filterConfig") or {}).get("resourcePathsGcsUri")
    if uri:
        selected, error = resource_paths.read(world, project, uri)
        if error is not None:
            return {}, error
    moved = 0
    for record in instances.find(world, store["name"]):
        if not selected(record):
            continue
        previous = record.get("storageClass", "STANDARD")
        instances.set_storage_class(world, store["name"], record, wanted)
        changed = {**record, "storageClass": wanted}
        destinations.notify(world, store, changed, "SetBlobSettings", previousStorageClass=previous)
        moved += 1
    return {"success": moved}, None


def storage_info(store_shown: str, record: dict[str, Any]) -> dict[str, Any]:
    """`StorageInfo` of one instance (`store_shown`: the store's name as the caller wrote it)."""
    structured = len(json.dumps(record["json"], separators=(",", ":")))
    blob: dict[str, Any] = {
        "sizeBytes": str(record.get("size", 0)),
        "storageClass": record.get("storageClass", "STANDARD"),
    }
    if record.get("storageClassUpdateTime"):
        blob["storageClassUpdateTime"] = record["storageClassUpdateTime"]
    return {
        "referencedResource": instances.resource_name(store_shown, record),
        "blobStorageInfo": blob,
        "structuredStorageInfo": {"sizeBytes": str(structured)},
    }
