"""Kind `storage.project` (`projects/{p}/buckets`): the buckets of the blueprint's project.

spec = {"projectId"}

Nothing is created or changed here (always `no-op`). Its read is one paged `buckets.list`, and
`orphans` reports the buckets labelled `managed-by: provision` that the blueprint no longer
declares: planned `forget`, or `delete` with --allow-delete naming them.
"""

from __future__ import annotations

from collections.abc import Iterable

from provision.model import JSON, Address, Observed, Resource
from provision.resources import addresses, ownership
from provision.resources.base import Context, ScanKind
from provision.resources.bucket import STORAGE, bucket_contents
from provision.resources.registry import register

PAGE_SIZE = 1000


@register
class StorageProjectKind(ScanKind):
    name = "storage.project"
    api = "storage"
    requires_services = frozenset({STORAGE})

    def read(self, ctx: Context, resource: Resource) -> Observed:
        buckets = ctx.api.pages(
            "storage.buckets.list",
            "items",
            project=resource.spec["projectId"],
            maxResults=PAGE_SIZE,
        )
        managed = sorted(
            str(b.get("name")) for b in buckets if ownership.is_managed(b.get("labels"))
        )
        return Observed(exists=True, fields={"managed": managed})

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
                fields["contents"] = bucket_contents(ctx, name)
            found.append((address, Observed(exists=True, fields=fields)))
        return found
