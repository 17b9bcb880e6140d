"""The Cloud Healthcare API as the Healthcare kinds share it (no kind of its own).

Declared once here: the service name, the reads of datasets and DICOM
stores (each memoised while planning, see `Context.read_once`), what a dataset or a DICOM store
holds (`Contents`), the QIDO-RS counts `verify` reports, and the bucket roles that let the Cloud
Healthcare Service Agent read the files a DICOM import names.

Used by the kinds `healthcare.location`, `healthcare.dataset`, `healthcare.dicom_store`, their
IAM kinds and `healthcare.dicom_import`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from provision.errors import ApplyError, GoogleApiError
from provision.gcp.methods import DATASETS, DICOM_STORES, HEALTHCARE_LOCATIONS
from provision.model import JSON
from provision.resources import ownership
from provision.resources.addresses import project_name
from provision.resources.base import Claim, Contents, Context
from provision.resources.prefetch import remembering

SERVICE = "healthcare.googleapis.com"
"""The API as `services` enables it; Healthcare kinds answer only once it is enabled."""
API = "healthcare"
"""The API as the gateway names it (`Kind.api`)."""
AGENT_ROLE = "roles/healthcare.serviceAgent"
"""The role Google grants the Cloud Healthcare Service Agent on the project."""

STORE_TYPES = {
    "dicomStores": "DICOM store",
    "fhirStores": "FHIR store",
    "hl7V2Stores": "HL7v2 store",
    "consentStores": "consent store",
}
"""Every type of store a dataset holds (its `{type}.list` answers `{type: [...]}`): what makes a
dataset non-empty."""
PAGE_SIZE = 1000

READER_ROLE = "roles/storage.objectViewer"
"""The bucket role provision grants the service agent so that imports can read the files."""
READER_ROLES = frozenset(
    {READER_ROLE, "roles/storage.objectUser", "roles/storage.objectAdmin", "roles/storage.admin"}
)
"""Bucket roles that let the Cloud Healthcare Service Agent read the objects to import: each holds
`storage.objects.get` and `storage.objects.list` (cloud.google.com/storage/docs/access-control/
iam-roles)."""

STUDY_SAMPLE = 100
"""Studies one search returns by default; `store_contents` says "100 or more" beyond it."""
STUDY_UID = "0020000D"
"""The DICOM tag of StudyInstanceUID, as QIDO-RS JSON names it."""
NO_STUDIES = "holds no DICOM studies"


VIEWER_WITHOUT_EXPORT = (
    "healthcare.dicomStores.dicomWebRead",
    "healthcare.dicomStores.get",
    "healthcare.dicomStores.list",
    "healthcare.datasets.get",
    "healthcare.datasets.list",
    "healthcare.locations.get",
    "healthcare.locations.list",
)
"""The permissions of roles/healthcare.dicomViewer but `healthcare.dicomStores.export` (and
the Resource Manager ones): a custom role a viewer can be granted instead, to read and show
images without copying a store out."""


def get(ctx: Context, method: str, **params: Any) -> JSON | None:
    """A read answering None on 404 (403 is raised: unreadable never means absent)."""
    try:
        return ctx.api.call(method, **params)
    except GoogleApiError as error:
        if error.http_status == 404:
            return None
        raise


# -- datasets -----------------------------------------------------------------------------


def get_dataset(ctx: Context, name: str) -> JSON | None:
    """The dataset, or None when Google answers 404."""
    return get(ctx, f"{DATASETS}.get", name=name)


def dataset_read_key(name: str) -> str:
    """The plan-scoped read memo key of the dataset `name` (see `Context.read_once`)."""
    return f"{name}:get"


def read_dataset(ctx: Context, name: str) -> JSON | None:
    """`get_dataset`, read once per plan: from its location's `datasets.list` when that listed
    it (see `healthcare.location`), else a GET (404 -> None; 403 is raised)."""
    found = ctx.read_once(dataset_read_key(name), lambda: get_dataset(ctx, name) or {})
    return found or None


def list_locations(ctx: Context, project: str) -> list[str]:
    """The ids of the Healthcare locations of `project`."""
    found = ctx.api.pages(f"{HEALTHCARE_LOCATIONS}.list", "locations", name=project_name(project))
    return sorted(str(loc.get("locationId", "")) for loc in found if loc.get("locationId"))


def stores_list_key(dataset: str) -> str:
    """The plan-scoped read memo key of `dataset`'s DICOM store list (all its pages)."""
    return f"{dataset}:dicomStores.list"


def stores_list_params(dataset: str) -> dict[str, Any]:
    """The first `dicomStores.list` call of `dataset`, read alone or in a batch."""
    return {"parent": dataset, "pageSize": PAGE_SIZE}


def list_dicom_stores(ctx: Context, dataset: str) -> list[JSON]:
    """`[{"id", "labels", "managed"}]` for every DICOM store in `dataset` (paged).

    While planning, the list is read once (or taken from `prefetch_store_lists`) and each
    listed store is remembered as its own read, so the store kinds and their imports need no
    request of their own.
    """

    def read() -> JSON:
        pages = ctx.api.pages(f"{DICOM_STORES}.list", "dicomStores", **stores_list_params(dataset))
        return {"dicomStores": list(pages)}

    stores = []
    for store in ctx.read_once(stores_list_key(dataset), read).get("dicomStores") or []:
        ctx.remember(store_read_key(str(store.get("name"))), store)
        labels = dict(store.get("labels") or {})
        stores.append(
            {
                "id": str(store.get("name", "")).rsplit("/", 1)[-1],
                "labels": labels,
                "managed": ownership.is_managed(labels),
            }
        )
    return sorted(stores, key=lambda s: str(s["id"]))


def prefetch_store_lists(ctx: Context, claim: Claim, datasets: Sequence[str]) -> None:
    """While planning, list the DICOM stores of `datasets` in batched requests and remember
    each list as its dataset's read would answer (which then remembers its stores). A list
    that failed, or that has more pages, is not remembered: its dataset then reads it alone,
    which reports any failure against its own address."""

    def whole_list(answer: JSON) -> JSON | None:
        # its dataset's `list_dicom_stores` remembers each store, before any store is read
        return (
            None
            if answer.get("nextPageToken")
            else {"dicomStores": answer.get("dicomStores") or []}
        )

    keys = [stores_list_key(dataset) for dataset in datasets]
    calls = [stores_list_params(dataset) for dataset in datasets]
    ctx.api.batch(f"{DICOM_STORES}.list", calls, remembering(ctx, claim, keys, whole_list))


def dataset_contents(ctx: Context, dataset: str) -> Contents:
    """Every store in `dataset`, of every type (`STORE_TYPES`), as `TYPE/ID` items."""
    items = []
    for kind in STORE_TYPES:
        method = f"{DATASETS}.{kind}.list"
        for store in ctx.api.pages(method, kind, parent=dataset, pageSize=PAGE_SIZE):
            items.append(f"{kind}/{str(store.get('name', '')).rsplit('/', 1)[-1]}")
    if not items:
        return Contents(frozenset(), "holds no stores")
    shown = ", ".join(store_label(item) for item in sorted(items))
    return Contents(frozenset(items), f"holds {len(items)} store(s): {shown}")


def store_label(item: str) -> str:
    """`dicomStores/s` -> `s`; another type's store -> e.g. `FHIR store ehr`."""
    kind, _, store_id = item.partition("/")
    return store_id if kind == "dicomStores" else f"{STORE_TYPES.get(kind, kind)} {store_id}"


def foreign_stores(stores: Sequence[Mapping[str, Any]], contents: Contents) -> list[str]:
    """The stores of `contents` provision does not own: DICOM stores without the label (from
    `list_dicom_stores`) and every store of another type."""
    owned = {f"dicomStores/{s['id']}" for s in stores if s.get("managed")}
    return [store_label(item) for item in sorted(contents.items - owned)]


# -- DICOM stores -------------------------------------------------------------------------


def get_store(ctx: Context, name: str) -> JSON | None:
    """The DICOM store, or None when Google answers 404."""
    return get(ctx, f"{DICOM_STORES}.get", name=name)


def store_read_key(name: str) -> str:
    """The plan-scoped read memo key of the DICOM store `name`."""
    return f"{name}:get"


def read_store(ctx: Context, name: str) -> JSON | None:
    """`get_store`, read once per plan: from the dataset's store list when that was read, else a
    GET (the store's imports look at its labels too)."""
    found = ctx.read_once(store_read_key(name), lambda: get_store(ctx, name) or {})
    return found or None


def search(ctx: Context, store: str, level: str) -> list[Any]:
    """What a QIDO-RS search of `level` (`studies` or `instances`) answers (204: nothing)."""
    from provision.gcp.api import LIST_RESULT

    method = "searchForStudies" if level == "studies" else "searchForInstances"
    answer = ctx.api.call(f"{DICOM_STORES}.{method}", parent=store, dicomWebPath=level)
    found = answer.get(LIST_RESULT) or []
    return found if isinstance(found, list) else []


def store_contents(ctx: Context, name: str) -> Contents:
    """What the store holds: its studies (up to `STUDY_SAMPLE`), from one QIDO-RS search."""
    studies = search(ctx, name, "studies")
    count = len(studies)
    if count == 0:
        return Contents(frozenset(), NO_STUDIES)
    more = " or more" if count >= STUDY_SAMPLE else ""
    noun = "study" if count == 1 else "studies"
    uids = frozenset(study_uid(study) for study in studies)
    return Contents(uids, f"holds {count}{more} DICOM {noun}; deleting destroys them")


def study_uid(study: Any) -> str:
    """A QIDO-RS study's StudyInstanceUID (a placeholder when a study lacks one)."""
    values = study.get(STUDY_UID, {}).get("Value") if isinstance(study, Mapping) else None
    return str(values[0]) if isinstance(values, list) and values else "(a study without a UID)"


def test_permissions(
    ctx: Context, collection: str, name: str, permissions: Sequence[str]
) -> set[str]:
    """Which of `permissions` the caller holds on the dataset or store `name`, whose methods
    start with `collection` (`DATASETS`, `DICOM_STORES`)."""
    answer = ctx.api.call(
        f"{collection}.testIamPermissions", resource=name, body={"permissions": list(permissions)}
    )
    return {str(p) for p in answer.get("permissions") or []}


def counted(number: int, noun: str = "instance") -> str:
    """`1 study`, `3 studies`, `0 instances`."""
    plural = "studies" if noun == "study" else f"{noun}s"
    return f"{number} {noun if number == 1 else plural}"


_label_locks: dict[str, threading.Lock] = {}
_label_guard = threading.Lock()


def set_store_label(ctx: Context, store: str, key: str, value: str) -> None:
    """Set one label on the DICOM store `store`, keeping its other labels (a read and one
    `patch` with `updateMask=labels`, one writer per store in this process)."""
    with _label_guard:
        lock = _label_locks.setdefault(store, threading.Lock())
    with lock:
        current = get_store(ctx, store)
        if current is None:
            raise ApplyError(f"{store}: the DICOM store is gone; cannot record {key}")
        labels = dict(current.get("labels") or {})
        if labels.get(key) == value:
            return
        labels[key] = value
        ctx.api.call(
            f"{DICOM_STORES}.patch", name=store, updateMask="labels", body={"labels": labels}
        )
