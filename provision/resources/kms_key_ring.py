"""Kind `kms.key_ring` (`projects/{p}/locations/{l}/keyRings/{r}`): a Cloud KMS key ring.

spec = {"projectId", "location", "keyRingId"}

* Created with a caller-chosen id (`keyRings.create`, answered at once); a 409 reads it back.
* A key ring has no labels and nothing to change, and holds no data itself: an existing ring
  with the blueprint's name is used as it is (no `adopt` needed), since nothing of it changes.
* provision never deletes a key ring: `provision destroy` forgets it, with the reason. Cloud KMS
  v1 deletes one (`keyRings.delete`) only once every key in it was deleted, and a key
  (`cryptoKeys.delete`) only once all its versions were destroyed and deleted (cloudkms.v1.json),
  so a ring holding a dataset's key outlives the dataset.
"""

from __future__ import annotations

from collections.abc import Sequence

from provision.errors import ApplyError, GoogleApiError
from provision.gcp.methods import KEY_RINGS
from provision.model import JSON, Action, Address, Change, FieldDiff, Observed, Resource
from provision.resources import addresses, kms
from provision.resources.base import (
    Context,
    Kind,
    Needs,
    Options,
    RemovalScope,
    readable,
    removal,
)
from provision.resources.registry import register

PERMANENT = (
    "provision does not delete Cloud KMS key rings (Google deletes one only once all its keys "
    "were deleted); it is left as it is"
)


@register
class KeyRingKind(Kind):
    name = addresses.KEY_RING
    api = kms.API
    requires_services = frozenset({kms.SERVICE})
    removable = True
    noun = "key ring"
    needs = Needs("roles/cloudkms.admin", ("cloudkms.keyRings.get",), ("cloudkms.keyRings.create",))

    def read(self, ctx: Context, resource: Resource) -> Observed:
        ring = kms.get(ctx, f"{KEY_RINGS}.get", name=resource.address.name)
        return Observed.absent() if ring is None else observe(ring)

    def diff(self, resource: Resource, observed: Observed, options: Options) -> Change:
        wanted = owned(resource.spec)
        if not observed.exists:
            return Change(
                resource.address,
                Action.CREATE,
                after=wanted,
                diffs=(FieldDiff("location", None, wanted["location"]),),
                depends_on=resource.depends_on,
                observed_exists=False,
            )
        return Change(
            resource.address,
            Action.NOOP,
            before=dict(observed.fields),
            after=wanted,
            depends_on=resource.depends_on,
            observed_exists=True,
        )

    def create(self, ctx: Context, change: Change) -> Observed | None:
        spec = change.after or {}
        try:
            ring = ctx.api.call(
                f"{KEY_RINGS}.create",
                parent=addresses.location_name(spec["projectId"], spec["location"]),
                keyRingId=spec["keyRingId"],
                body={},
            )
        except GoogleApiError as error:
            if error.http_status != 409:
                raise
            found = kms.get(ctx, f"{KEY_RINGS}.get", name=change.address.name)
            if found is None:
                raise ApplyError(
                    f"{change.address}: create answered ALREADY_EXISTS, yet it is gone"
                ) from None
            ring = found
        return observe(ring)

    # -- permissions ----------------------------------------------------------------------

    def created_in(self, resource: Resource) -> Address:
        return addresses.project(resource.spec["projectId"])

    def visible(self, ctx: Context, address: Address) -> bool:
        return readable(lambda: kms.get(ctx, f"{KEY_RINGS}.get", name=address.name))

    def test_permissions(self, ctx: Context, name: str, permissions: Sequence[str]) -> set[str]:
        return kms.test_permissions(ctx, KEY_RINGS, name, permissions)

    # -- removing -------------------------------------------------------------------------

    def plan_removal(
        self, ctx: Context, resource: Resource, state: JSON, scope: RemovalScope
    ) -> Change:
        return removal(resource, state, Action.FORGET, PERMANENT)


def owned(spec: JSON) -> JSON:
    return {
        "projectId": spec["projectId"],
        "location": spec["location"],
        "keyRingId": spec["keyRingId"],
    }


def observe(ring: JSON) -> Observed:
    return Observed(exists=True, fields={"createTime": ring.get("createTime")})
