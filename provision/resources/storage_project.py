"""Kind `storage.project` (`projects/{p}/buckets`): the buckets of the blueprint's project.

spec = {"projectId"}

Nothing is created or changed here (always `no-op`). Its read is one paged `buckets.list`, which
also answers the reads of the blueprint's buckets while planning (each listed bucket is
remembered as its `buckets.get`: both default to `projection=noAcl`; see
`BucketKind.answered_by`), then the IAM policies of the plan's listed buckets in Storage
batches (see `bucket_iam.prefetch_policies`). `orphans` reports the buckets labelled
`managed-by: provision` that the blueprint no longer declares: planned `forget`, or `delete`
with --allow-delete naming them (a plan error when the bucket holds objects: provision never
empties a bucket).
"""

from __future__ import annotations

from collections.abc import Iterable

from provision.errors import PlanError
from provision.gcp.methods import BUCKETS
from provision.lease import object_name as lease_object
from provision.model import JSON, Address, Observed, Resource
from provision.resources import addresses, ownership
from provision.resources.base import HOLDS, Context, Needs, ScanKind
from provision.resources.bucket import (
    API,
    LEASE_OBJECT,
    STORAGE,
    bucket_contents,
    read_key,
)
from provision.resources.bucket_iam import prefetch_policies
from provision.resources.registry import register

PAGE_SIZE = 1000


@register
class StorageProjectKind(ScanKind):
    name = addresses.STORAGE_PROJECT
    api = API
    requires_services = frozenset({STORAGE})
    needs = Needs(
        "roles/storage.admin (on the project, to list and create buckets)",
        ("storage.buckets.list",),
    )

    def checked_on(self, resource: Resource) -> Address:
        return addresses.project(resource.spec["projectId"])

    def read(self, ctx: Context, resource: Resource) -> Observed:
        buckets = ctx.api.pages(
            f"{BUCKETS}.list",
            "items",
            project=resource.spec["projectId"],
            maxResults=PAGE_SIZE,
        )
        listed, managed = set(), []
        for bucket in buckets:
            name = str(bucket.get("name"))
            ctx.remember(read_key(name), bucket)
            listed.add(name)
            if ownership.is_managed(bucket.get("labels")):
                managed.append(name)
        prefetch_policies(ctx, listed)
        return Observed(exists=True, fields={"managed": sorted(managed), "buckets": sorted(listed)})

    def orphans(
        self, ctx: Context, resource: Resource, observed: Observed, desired: frozenset[Address]
    ) -> Iterable[tuple[Address, Observed]]:
        found = []
        for name in observed.fields.get("managed") or []:
            address = addresses.bucket(name)
            if address in desired:
                continue
            fields: JSON = {"labels": dict(ownership.LABEL)}
            if str(address) in ctx.options.allow_delete:
                lease = lease_object(resource.spec["projectId"])
                contents = bucket_contents(ctx, name, lease)
                if not contents.empty:
                    raise PlanError(f"{address}: {contents.summary}")
                fields.update({"contents": contents.summary, HOLDS: [], LEASE_OBJECT: lease})
            found.append((address, Observed(exists=True, fields=fields)))
        return found
