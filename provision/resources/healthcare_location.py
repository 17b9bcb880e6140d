"""Kind `healthcare.location` (`projects/{p}/locations/{l}`): the datasets of one location.

spec = {"projectId", "location"}

Nothing is created or changed here (always `no-op`). The blueprint has one of these per
Healthcare location it uses; its read is one paged `datasets.list`, which also answers the reads
of the blueprint's datasets there while planning (each listed dataset is remembered as its
`datasets.get`; see `DatasetKind.answered_by`), and `orphans` reports the datasets
provision manages there that the blueprint no longer declares (a dataset is provision's when it
holds a store labelled `managed-by: provision`; an empty one cannot be told apart, so it is not
reported). They are planned `forget`, or `delete` with --allow-delete naming them.
"""

from __future__ import annotations

from collections.abc import Iterable

from provision.gcp.methods import DATASETS
from provision.model import JSON, Address, Observed, Resource
from provision.resources import addresses, healthcare
from provision.resources.base import Context, ScanKind
from provision.resources.healthcare import (
    PAGE_SIZE,
    dataset_read_key,
    list_dicom_stores,
)
from provision.resources.healthcare_dataset import orphan_deletion
from provision.resources.registry import register


@register
class HealthcareLocationKind(ScanKind):
    name = addresses.HEALTHCARE_LOCATION
    api = healthcare.API
    requires_services = frozenset({healthcare.SERVICE})

    def read(self, ctx: Context, resource: Resource) -> Observed:
        project, location = resource.spec["projectId"], resource.spec["location"]
        parent = resource.address.name
        datasets = ctx.api.pages(f"{DATASETS}.list", "datasets", parent=parent, pageSize=PAGE_SIZE)
        ids = []
        for dataset in datasets:
            dataset_id = str(dataset.get("name", "")).rsplit("/", 1)[-1]
            name = addresses.dataset_name(project, location, dataset_id)
            ctx.remember(dataset_read_key(name), dataset)
            ids.append(dataset_id)
        return Observed(exists=True, fields={"datasets": sorted(ids)})

    def orphans(
        self, ctx: Context, resource: Resource, observed: Observed, desired: frozenset[Address]
    ) -> Iterable[tuple[Address, Observed]]:
        if not observed.exists:
            return []
        project, location = resource.spec["projectId"], resource.spec["location"]
        found = []
        for dataset_id in observed.fields.get("datasets") or []:
            address = addresses.dataset(project, location, dataset_id)
            if address in desired:
                continue
            stores = list_dicom_stores(ctx, address.name)
            if not any(s.get("managed") for s in stores):
                continue
            fields: JSON = {"stores": [s["id"] for s in stores]}
            if str(address) in ctx.options.allow_delete:
                fields.update(orphan_deletion(ctx, address, stores))
            found.append((address, Observed(exists=True, fields=fields)))
        return found
