"""Kind `storage.bucket` (`projects/_/buckets/{name}`): a Cloud Storage bucket.

spec = {"name", "projectId", "projectNumber": "${project_number:P}", "location",
        "storageClass", "uniformBucketLevelAccess": bool, "labels": {..}, "adopt": bool}

* Created with its labels plus `managed-by: provision`; an existing bucket without that label
  needs `adopt: true` and is then managed as it is, without the label (see `ownership`).
* Labels are additive; storage class and uniform bucket-level access are patched in place.
  The location cannot change: a different location is a plan error naming `location`.
* Bucket names are global: a bucket of another project (or one this identity cannot see, 403)
  is a plan error, never "absent".
* A bucket is never emptied: it is deleted (by `provision destroy`, or as an orphan named with
  --allow-delete) only when it holds no object but its project's lease object
  (`provision-locks/<project-id>.lease`, see `provision.lease`), which goes with it. `delete`
  lists the objects again right before deleting, and Cloud Storage itself refuses (409) to
  delete a bucket an object reached meanwhile.
* While planning, a bucket is answered by its project's `buckets.list` (kind `storage.project`);
  only a bucket that list did not show (absent, or another project's) is read with `buckets.get`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from provision.errors import ApplyError, GoogleApiError, PlanError
from provision.gcp.methods import BUCKETS, OBJECTS
from provision.lease import object_name as lease_object
from provision.model import JSON, Action, Address, Change, FieldDiff, Observed, Resource
from provision.resources import addresses, ownership
from provision.resources.base import (
    HOLDS,
    REFUSED,
    Contents,
    Context,
    DeleteRefusedError,
    Kind,
    Needs,
    Options,
    RemovalScope,
    compared,
    map_diffs,
    readable,
    refuse_unless_planned,
    removal,
)
from provision.resources.registry import register
from provision.resources.symbols import unresolved

STORAGE = "storage.googleapis.com"
"""The API as `services` enables it."""
API = "storage"
"""The API as the gateway names it (`Kind.api`)."""
OWNED = ("location", "storageClass", "uniformBucketLevelAccess")
LEASE_OBJECT = "leaseObject"
"""Key of a planned delete's `before`: the lease object that does not count as content."""
EMPTY = "is empty"
NEVER_EMPTIED = (
    "holds objects; provision never empties a bucket: delete its objects first to remove it"
)


@register
class BucketKind(Kind):
    name = addresses.BUCKET
    api = API
    requires_services = frozenset({STORAGE})
    removable = True
    noun = "bucket"
    needs = Needs(
        "roles/storage.admin (on the bucket once it exists)",
        ("storage.buckets.get", "storage.buckets.update"),
        ("storage.buckets.create",),
    )

    def reads_after(self, address: Address, dependency: Address, dependency_kind: Kind) -> bool:
        """Also after the project: the read compares the bucket's project number with it."""
        return dependency.kind == addresses.PROJECT or super().reads_after(
            address, dependency, dependency_kind
        )

    def answered_by(self, resource: Resource) -> tuple[Address, ...]:
        """The project's bucket scan: its `buckets.list` answers this bucket's read."""
        return (addresses.storage_project(resource.spec["projectId"]),)

    def outputs(self, ctx: Context, change: Change) -> Mapping[str, str]:
        """The bucket's gs:// URI and location."""
        shown = {"uri": f"gs://{addresses.bucket_of(change.address.name)}"}
        location = (change.before or change.after or {}).get("location")
        if location:
            shown["location"] = str(location)
        return shown

    def read(self, ctx: Context, resource: Resource) -> Observed:
        name = addresses.bucket_of(resource.address.name)
        try:
            bucket = read_bucket(ctx, name)
        except GoogleApiError as error:
            if error.http_status != 403:
                raise
            raise PlanError(
                f"{resource.address}: Cloud Storage refused to read bucket {name!r} (403): "
                "either the name is taken by a bucket of another project (bucket names are "
                "global; choose another name) or this identity lacks storage.buckets.get. "
                f"Google answered: {error.message}"
            ) from None
        return Observed.absent() if bucket is None else observe(bucket)

    def diff(self, resource: Resource, observed: Observed, options: Options) -> Change:
        wanted = owned(resource.spec)
        if not observed.exists:
            diffs = [FieldDiff(key, None, wanted[key]) for key in OWNED]
            diffs.append(FieldDiff("labels", None, wanted["labels"]))
            return Change(
                resource.address,
                Action.CREATE,
                after=wanted,
                diffs=tuple(diffs),
                depends_on=resource.depends_on,
                observed_exists=False,
            )
        fields = observed.fields
        number = str(wanted.get("projectNumber") or "")
        if number and not unresolved(number) and fields.get("projectNumber") not in (None, number):
            raise PlanError(
                f"{resource.address}: bucket {wanted['name']!r} belongs to another project "
                f"(number {fields.get('projectNumber')}); bucket names are global, choose "
                "another name"
            )
        wanted, reason = ownership.managed_or_adopted(
            resource, fields.get("labels"), wanted, "bucket", "buckets"
        )
        if fields.get("location") != wanted["location"]:
            raise PlanError(
                f"{resource.address}: location: the bucket is in {fields.get('location')} but "
                f"the blueprint says {wanted['location']}; a bucket's location cannot be "
                "changed. Put the location back, or use a new bucket name"
            )
        diffs = [
            FieldDiff(key, fields.get(key), wanted[key])
            for key in ("storageClass", "uniformBucketLevelAccess")
            if fields.get(key) != wanted[key]
        ]
        diffs += map_diffs("labels", fields.get("labels") or {}, wanted["labels"])
        return compared(resource, observed, wanted, diffs, reason)

    # -- applying -------------------------------------------------------------------------

    def create(self, ctx: Context, change: Change) -> Observed | None:
        spec = change.after or {}
        body: JSON = {
            "name": spec["name"],
            "location": spec["location"],
            "storageClass": spec["storageClass"],
            "iamConfiguration": {
                "uniformBucketLevelAccess": {"enabled": spec["uniformBucketLevelAccess"]}
            },
            "labels": dict(spec["labels"]),
        }
        try:
            bucket = ctx.api.call(f"{BUCKETS}.insert", project=spec["projectId"], body=body)
        except GoogleApiError as error:
            if error.http_status != 409:
                raise
            return self._adopt_after_conflict(ctx, change, error)
        return observe(bucket)

    def _adopt_after_conflict(
        self, ctx: Context, change: Change, conflict: GoogleApiError
    ) -> Observed:
        """409: ours (labelled, an earlier attempt's answer was lost) or a clear refusal."""
        spec = change.after or {}
        try:
            bucket = get_bucket(ctx, spec["name"])
        except GoogleApiError as error:
            if error.http_status != 403:
                raise
            bucket = None
        if bucket is None:
            raise ApplyError(
                f"{change.address}: the bucket name {spec['name']!r} is taken by another "
                f"project (bucket names are global); choose another name. Google answered: "
                f"{conflict.message}"
            ) from None
        return self.adopt_after_conflict(ctx, change, observe(bucket))

    def update(self, ctx: Context, change: Change) -> Observed | None:
        spec = change.after or {}
        body: JSON = {}
        for diff in change.diffs:
            if diff.path.startswith("labels."):
                body.setdefault("labels", {})[diff.path.split(".", 1)[1]] = diff.after
            elif diff.path == "storageClass":
                body["storageClass"] = spec["storageClass"]
            elif diff.path == "uniformBucketLevelAccess":
                body["iamConfiguration"] = {
                    "uniformBucketLevelAccess": {"enabled": spec["uniformBucketLevelAccess"]}
                }
        if not body:
            return None
        bucket = ctx.api.call(f"{BUCKETS}.patch", bucket=spec["name"], body=body)
        return observe(bucket)

    def delete(self, ctx: Context, change: Change) -> None:
        """Delete the bucket if it is still provision's and holds nothing but the lease object
        (deleted with it); refuse otherwise. Never deletes another object."""
        name = addresses.bucket_of(change.address.name)
        bucket = get_bucket(ctx, name)
        if bucket is None:
            return
        if not ownership.is_managed(bucket.get("labels")):
            raise ApplyError(
                f"{change.address}: no longer labelled managed-by: provision; not deleting it"
            )
        lease = str((change.before or {}).get(LEASE_OBJECT) or "")
        listed = first_objects(ctx, name)
        refuse_unless_planned(change, contents_of(listed, lease))
        for item in listed:  # at most the lease object is left
            delete_lease_object(ctx, name, item)
        try:
            ctx.api.call(f"{BUCKETS}.delete", bucket=name)
        except GoogleApiError as error:
            if error.http_status != 409:
                raise
            raise DeleteRefusedError(
                f"{REFUSED}it holds objects now (Cloud Storage: the bucket is not empty); kept"
            ) from None

    # -- permissions ----------------------------------------------------------------------

    def created_in(self, resource: Resource) -> Address:
        return addresses.project(resource.spec["projectId"])

    def visible(self, ctx: Context, address: Address) -> bool:
        return readable(lambda: get_bucket(ctx, addresses.bucket_of(address.name)))

    def test_permissions(self, ctx: Context, name: str, permissions: Sequence[str]) -> set[str]:
        answer = ctx.api.call(
            f"{BUCKETS}.testIamPermissions",
            bucket=addresses.bucket_of(name),
            permissions=list(permissions),
        )
        return {str(p) for p in answer.get("permissions") or []}

    # -- removing -------------------------------------------------------------------------

    def removal_read(self, ctx: Context, resource: Resource) -> JSON | None:
        """Its labels; for a bucket provision owns, also what it holds besides the lease
        object (`HOLDS`: its first objects, one objects.list)."""
        bucket = get_bucket(ctx, addresses.bucket_of(resource.address.name))
        if bucket is None:
            return None
        labels = dict(bucket.get("labels") or {})
        state: JSON = {"labels": labels}
        if ownership.is_managed(labels):
            lease = lease_object(resource.spec["projectId"])
            contents = bucket_contents(ctx, addresses.bucket_of(resource.address.name), lease)
            held = sorted(contents.items)
            state.update({"contents": contents.summary, HOLDS: held, LEASE_OBJECT: lease})
        return state

    def plan_removal(
        self, ctx: Context, resource: Resource, state: JSON, scope: RemovalScope
    ) -> Change:
        """Owned and empty (the lease object aside): delete; otherwise keep, saying why."""
        labels = state.get("labels") or {}
        if not ownership.is_managed(labels):
            return removal(resource, {"labels": dict(labels)}, Action.FORGET, ownership.NOT_MANAGED)
        if state.get(HOLDS):
            return removal(resource, state, Action.FORGET, str(state.get("contents", "")))
        named = "named with --allow-delete; " if scope.is_named(resource.address) else "owned and "
        return removal(resource, state, Action.DELETE, f"{named}{EMPTY}")


def get_bucket(ctx: Context, name: str) -> JSON | None:
    """The bucket, or None on 404; 403 is raised."""
    try:
        return ctx.api.call(f"{BUCKETS}.get", bucket=name)
    except GoogleApiError as error:
        if error.http_status == 404:
            return None
        raise


def read_key(name: str) -> str:
    """The plan-scoped read memo key of the bucket `name` (see `Context.read_once`)."""
    return f"{addresses.bucket_name(name)}:get"


def read_bucket(ctx: Context, name: str) -> JSON | None:
    """`get_bucket`, read once per plan: from its project's `buckets.list` when that listed it
    (see `storage.project`), else a GET (404 -> None; 403 is raised)."""
    found = ctx.read_once(read_key(name), lambda: get_bucket(ctx, name) or {})
    return found or None


def first_objects(ctx: Context, name: str) -> list[JSON]:
    """The bucket's first two objects: enough to tell whether it holds any but the lease."""
    page = ctx.api.call(f"{OBJECTS}.list", bucket=name, maxResults=2)
    return list(page.get("items") or [])


def contents_of(listed: list[JSON], lease: str) -> Contents:
    """What `first_objects` shows the bucket holds besides the exact lease object `lease`."""
    names = frozenset(str(item.get("name", "")) for item in listed) - {lease}
    return Contents(names, NEVER_EMPTIED) if names else Contents(frozenset(), EMPTY)


def bucket_contents(ctx: Context, name: str, lease: str) -> Contents:
    """What the bucket holds besides its project's lease object `lease` (one objects.list)."""
    return contents_of(first_objects(ctx, name), lease)


def delete_lease_object(ctx: Context, bucket: str, item: JSON) -> None:
    """Delete the lease object `item` as listed (the generation listed, so a rewritten object
    is left alone: the bucket delete then refuses)."""
    try:
        ctx.api.call(
            f"{OBJECTS}.delete",
            bucket=bucket,
            object=item["name"],
            ifGenerationMatch=item.get("generation"),
        )
    except GoogleApiError as error:
        if error.http_status not in (404, 412):
            raise


def owned(spec: Mapping[str, Any]) -> JSON:
    wanted: JSON = {
        "name": spec["name"],
        "projectId": spec["projectId"],
        "location": str(spec.get("location") or "US").upper(),
        "storageClass": str(spec.get("storageClass") or "STANDARD").upper(),
        "uniformBucketLevelAccess": bool(spec.get("uniformBucketLevelAccess", True)),
        "labels": ownership.with_label(spec.get("labels")),
        "adopt": bool(spec.get("adopt", False)),
    }
    if spec.get("projectNumber"):
        wanted["projectNumber"] = str(spec["projectNumber"])
    return wanted


def observe(bucket: Mapping[str, Any]) -> Observed:
    config = bucket.get("iamConfiguration") or {}
    ubla = config.get("uniformBucketLevelAccess") or config.get("bucketPolicyOnly") or {}
    fields: JSON = {
        "location": str(bucket.get("location") or "").upper(),
        "storageClass": str(bucket.get("storageClass") or "").upper(),
        "uniformBucketLevelAccess": bool(ubla.get("enabled", False)),
        "labels": dict(bucket.get("labels") or {}),
    }
    if bucket.get("projectNumber"):
        fields["projectNumber"] = str(bucket["projectNumber"])
    etag = bucket.get("etag")
    return Observed(exists=True, fields=fields, etag=str(etag) if etag else None)
