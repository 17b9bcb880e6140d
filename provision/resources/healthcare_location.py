"""Kind `healthcare.location` (`projects/{p}/locations/{l}`): the datasets of one location.

spec = {"projectId", "location"}

Nothing is created or changed here (always `no-op`). The blueprint has one of these per
Healthcare location it uses; its read is one paged `datasets.list`, which also answers the reads
of the blueprint's datasets there while planning (each listed dataset is remembered as its
`datasets.get`; see `DatasetKind.answered_by`), and `orphans` reports the datasets
provision manages there that the blueprint no longer declares (a dataset is provision's when it
holds a store labelled `managed-by: provision`; an empty one cannot be told apart, so it is not
reported). They are planned `forget`, or `delete` with --allow-delete naming them.

While planning many datasets here, with Healthcare batching on (`GoogleApi.can_batch`), the
read also starts, in the background (`prefetch.in_background`) and alongside its
`datasets.list`, batched reads of what the plan's datasets and their IAM objects here would each
read alone: the datasets' store lists and the datasets' and stores' policies, all at once. For
300 sites with a store each (the benchmark's) that is 9 requests of 100 calls instead of 900
requests, and one round trip instead of two.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from provision.gcp.methods import DATASETS, DICOM_STORES
from provision.model import JSON, Address, Observed, Resource
from provision.resources import addresses, healthcare
from provision.resources.base import Claim, Context, ScanKind
from provision.resources.healthcare import (
    PAGE_SIZE,
    dataset_read_key,
    list_dicom_stores,
    prefetch_store_lists,
    stores_list_key,
)
from provision.resources.healthcare_dataset import orphan_deletion
from provision.resources.healthcare_iam import prefetch_policies
from provision.resources.iam import policy_read_key
from provision.resources.prefetch import in_background
from provision.resources.registry import register


@register
class HealthcareLocationKind(ScanKind):
    name = addresses.HEALTHCARE_LOCATION
    api = healthcare.API
    requires_services = frozenset({healthcare.SERVICE})

    def read(self, ctx: Context, resource: Resource) -> Observed:
        project, location = resource.spec["projectId"], resource.spec["location"]
        parent = resource.address.name
        if ctx.api.can_batch(healthcare.API):
            prefetch(ctx, parent)
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


def prefetch(ctx: Context, location: str) -> None:
    """Start the batched reads of the plan's objects in the datasets it plans in `location`
    (`projects/{p}/locations/{l}`; see the module docstring), all at once and in the background:
    each object's read waits for its own answer (`prefetch.in_background`), not for the others'.
    Nothing when the plan covers fewer than two datasets there; a kind of which it covers fewer
    than two reads on its own.

    The batches go out with the location's `datasets.list`, not after it: that saves the plan a
    round trip, at the cost of calls for datasets the list then lacks (or stores their datasets
    lack), which answer 404 and are not remembered (those objects are planned as creates). A
    read is only ever taken from an answer about its own object."""
    within = f"{location}/datasets/"
    datasets = [a.name for a in ctx.planned(addresses.DATASET) if a.name.startswith(within)]
    if len(datasets) < 2:
        return
    dataset_policies = [
        a.name for a in ctx.planned(addresses.DATASET_IAM) if a.name.startswith(within)
    ]
    store_policies = [
        a.name for a in ctx.planned(addresses.DICOM_STORE_IAM) if a.name.startswith(within)
    ]
    policies = {
        collection: names
        for collection, names in ((DATASETS, dataset_policies), (DICOM_STORES, store_policies))
        if len(names) > 1
    }
    keys = [stores_list_key(dataset) for dataset in datasets]
    keys += [policy_read_key(name) for names in policies.values() for name in names]

    def read_all(claim: Claim) -> None:
        with ThreadPoolExecutor(max(1, len(policies))) as others:
            reading = [
                others.submit(prefetch_policies, ctx, claim, collection, names)
                for collection, names in policies.items()
            ]
            prefetch_store_lists(ctx, claim, datasets)
            for read in reading:
                read.result()

    in_background(ctx, keys, read_all, "healthcare-batches")
