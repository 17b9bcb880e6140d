"""The instances held by each DICOM store: the original bytes plus their DICOM JSON.

Shared by DICOMweb (STOW, QIDO, WADO) and `dicomStores.import`. An instance is keyed by its
store and its Study / Series / SOP Instance UIDs. Storing the same bytes again is a no-op
(`DUPLICATE`); different bytes under the same UIDs are refused (`CONFLICT`), as Google does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from io import BytesIO
from typing import Any

import pydicom
from pydicom.errors import InvalidDicomError

from provision.emulator.core.world import World

INSTANCES = "dicom_instances"
"""Collection: key `{store}/{study}/{series}/{sop}` -> summary and DICOM JSON (no bulk data)."""

BULK_THRESHOLD = 1024
"""Binary elements larger than this are left out of stored JSON and served as bulk data."""

StoredListener = Callable[[World, str, dict[str, Any], str], None]
"""Told of each newly stored instance: (world, store name, the stored record, the action that
stored it: `StoreInstances`, `ImportDicomData`, ...)."""
_listeners: list[StoredListener] = []


def on_stored(listener: StoredListener) -> None:
    """Call `listener` after every newly stored instance, in the storing request's transaction
    (the Healthcare API's notifications and streaming; DICOMweb knows nothing of them)."""
    if listener not in _listeners:
        _listeners.append(listener)


class Outcome(Enum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    INVALID = "invalid"


@dataclass(frozen=True)
class PutResult:
    outcome: Outcome
    study: str = ""
    series: str = ""
    sop: str = ""
    sop_class: str = ""
    detail: str = ""


def _key(store: str, study: str, series: str, sop: str) -> str:
    return f"{store}/{study}/{series}/{sop}"


def blob_key(store: str, study: str, series: str, sop: str) -> str:
    return "dicom/" + _key(store, study, series, sop)


def parse(data: bytes) -> pydicom.Dataset:
    """Read a DICOM file (Part 10, or a bare dataset); raises ValueError when it is not DICOM."""
    try:
        dataset = pydicom.dcmread(BytesIO(data))
    except (InvalidDicomError, EOFError, OSError, ValueError, TypeError, KeyError) as error:
        raise ValueError(f"not a DICOM file: {error}") from None
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
        if not str(dataset.get(keyword, "")).strip():
            raise ValueError(f"DICOM file has no {keyword}")
    return dataset


def put_instance(
    world: World,
    store: str,
    data: bytes,
    *,
    action: str = "StoreInstances",
    storage_class: str = "STANDARD",
) -> PutResult:
    """Store one DICOM file in `store` (a full DICOM store resource name) in `storage_class`;
    `action` names the method for the listeners (see `on_stored`)."""
    try:
        dataset = parse(data)
    except ValueError as error:
        return PutResult(Outcome.INVALID, detail=str(error))
    study = str(dataset.StudyInstanceUID)
    series = str(dataset.SeriesInstanceUID)
    sop = str(dataset.SOPInstanceUID)
    sop_class = str(dataset.get("SOPClassUID", ""))
    digest = hashlib.sha256(data).hexdigest()
    key = _key(store, study, series, sop)
    existing = world.store.get(INSTANCES, key)
    result = PutResult(Outcome.STORED, study, series, sop, sop_class)
    if existing is not None:
        if existing["sha256"] == digest:
            return PutResult(Outcome.DUPLICATE, study, series, sop, sop_class)
        return PutResult(
            Outcome.CONFLICT,
            study,
            series,
            sop,
            sop_class,
            "An instance already exists in this DICOM Store with the same Study/Series/"
            "SOPInstance UID, but the DICOM files differ (checksum mismatch).",
        )
    record = {
        "study": study,
        "series": series,
        "sop": sop,
        "sopClass": sop_class,
        "sha256": digest,
        "transferSyntax": str(dataset.file_meta.get("TransferSyntaxUID", ""))
        if hasattr(dataset, "file_meta")
        else "",
        "json": _json_without_bulk(dataset),
        "stored": world.now(),
        "size": len(data),
        "storageClass": storage_class,
        "storageClassUpdateTime": world.now_rfc3339(),
    }
    world.store.put(INSTANCES, key, record)
    world.store.put_blob(blob_key(store, study, series, sop), data)
    for listener in _listeners:
        listener(world, store, record, action)
    return result


def set_storage_class(world: World, store: str, record: dict[str, Any], storage_class: str) -> None:
    """Move a stored instance to another storage class (its record, from `find`)."""
    key = _key(store, record["study"], record["series"], record["sop"])
    world.store.put(
        INSTANCES,
        key,
        {**record, "storageClass": storage_class, "storageClassUpdateTime": world.now_rfc3339()},
    )


def resource_name(store: str, record: dict[str, Any]) -> str:
    """The instance's DICOMweb resource name under its store."""
    return (
        f"{store}/dicomWeb/studies/{record['study']}/series/{record['series']}"
        f"/instances/{record['sop']}"
    )


def _json_without_bulk(dataset: pydicom.Dataset) -> dict[str, Any]:
    """DICOM JSON of the dataset, with large binary values replaced by a `BulkDataURI` marker."""

    def mark(element: Any) -> str:
        return f"bulkdata/{element.tag:08x}"

    return dict(dataset.to_json_dict(BULK_THRESHOLD, mark))


def find(
    world: World, store: str, study: str = "", series: str = "", sop: str = ""
) -> list[dict[str, Any]]:
    """Stored instances of `store`, narrowed by the given UIDs (empty means any)."""
    prefix = f"{store}/"
    if study:
        prefix += f"{study}/"
        if series:
            prefix += f"{series}/"
            if sop:
                prefix += f"{sop}"
    records = world.store.values(INSTANCES, prefix)
    if sop:
        records = [record for record in records if record["sop"] == sop]
    return records


def data(world: World, store: str, record: dict[str, Any]) -> bytes:
    found = world.store.get_blob(blob_key(store, record["study"], record["series"], record["sop"]))
    return found or b""


def delete(world: World, store: str, study: str, series: str = "", sop: str = "") -> int:
    """Remove matching instances; returns how many were removed."""
    removed = 0
    for record in find(world, store, study, series, sop):
        world.store.delete(INSTANCES, _key(store, record["study"], record["series"], record["sop"]))
        world.store.delete_blob(blob_key(store, record["study"], record["series"], record["sop"]))
        removed += 1
    return removed


def delete_store(world: World, store: str) -> None:
    """Forget every instance of a deleted store."""
    for record in find(world, store):
        delete(world, store, record["study"], record["series"], record["sop"])


def count(world: World, store: str) -> int:
    return len(world.store.items(INSTANCES, f"{store}/"))
