"""Kind `kms.crypto_key` (`projects/{p}/locations/{l}/keyRings/{r}/cryptoKeys/{k}`): a Cloud
KMS symmetric key, e.g. the customer-managed encryption key (CMEK) of Healthcare datasets.

spec = {"projectId", "labels": {..}, "rotationPeriod"?: "7776000s", "adopt": bool}

* Created with purpose ENCRYPT_DECRYPT (Google's default algorithm, GOOGLE_SYMMETRIC_ENCRYPTION,
  and its first version as primary), its labels plus `managed-by: provision`, and, with a
  `rotationPeriod`, a `nextRotationTime` one period from now (Google requires both together).
  A 409 reads the key back and adopts it when it carries the label.
* An existing key without the label needs `adopt: true` (adopting writes no ownership label;
  the declared labels are still patched on). Labels are additive; the rotation
  period is patched in place (`updateMask=rotationPeriod,nextRotationTime`); no
  `rotationPeriod` in the blueprint leaves it alone. The purpose cannot change: a key of
  another purpose is a plan error.
* Cloud KMS keys are never deleted by provision: deleting (destroying the versions of) a key
  makes everything encrypted with it unreadable for good. `provision destroy` forgets it.
* `verify` checks that the key has an enabled primary version (a dataset cannot be created,
  nor its data read, with a disabled or destroyed one).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import partial

from provision.errors import GoogleApiError, PlanError
from provision.gcp.methods import CRYPTO_KEYS
from provision.model import JSON, Action, Address, Change, FieldDiff, Observed, Resource
from provision.resources import addresses, kms, ownership
from provision.resources.base import (
    Context,
    Kind,
    Needs,
    Options,
    Probe,
    RemovalScope,
    compared,
    map_diffs,
    readable,
    removal,
)
from provision.resources.registry import register

NEVER_DELETED = (
    "provision never deletes Cloud KMS keys (data encrypted with a destroyed key is lost for "
    "good); it is left as it is"
)


@register
class CryptoKeyKind(Kind):
    name = addresses.CRYPTO_KEY
    api = kms.API
    requires_services = frozenset({kms.SERVICE})
    removable = True
    noun = "crypto key"
    needs = Needs(
        "roles/cloudkms.admin",
        ("cloudkms.cryptoKeys.get", "cloudkms.cryptoKeys.update"),
        ("cloudkms.cryptoKeys.create",),
    )

    def outputs(self, ctx: Context, change: Change) -> Mapping[str, str]:
        """The state of the key's primary version and its rotation period, as read."""
        before = change.before or {}
        shown = {"primary": str(before["primaryState"])} if before.get("primaryState") else {}
        if before.get("rotationPeriod"):
            shown["rotationPeriod"] = str(before["rotationPeriod"])
        return shown

    def read(self, ctx: Context, resource: Resource) -> Observed:
        key = kms.get(ctx, f"{CRYPTO_KEYS}.get", name=resource.address.name)
        return Observed.absent() if key is None else observe(key)

    def diff(self, resource: Resource, observed: Observed, options: Options) -> Change:
        wanted = owned(resource.spec)
        if not observed.exists:
            diffs = [FieldDiff("purpose", None, kms.PURPOSE)]
            diffs.append(FieldDiff("labels", None, wanted["labels"]))
            if "rotationPeriod" in wanted:
                diffs.append(FieldDiff("rotationPeriod", None, wanted["rotationPeriod"]))
            return Change(
                resource.address,
                Action.CREATE,
                after=wanted,
                diffs=tuple(diffs),
                depends_on=resource.depends_on,
                observed_exists=False,
            )
        fields = observed.fields
        wanted, reason = ownership.managed_or_adopted(
            resource, fields.get("labels"), wanted, "crypto key", "cryptoKeys"
        )
        if fields.get("purpose") != kms.PURPOSE:
            raise PlanError(
                f"{resource.address}: purpose: the key's purpose is {fields.get('purpose')}, "
                f"but a dataset's encryption key must be {kms.PURPOSE}, and a key's purpose "
                "cannot be changed; use another key id"
            )
        diffs = map_diffs("labels", fields.get("labels") or {}, wanted["labels"])
        period = wanted.get("rotationPeriod")
        if period is not None and fields.get("rotationPeriod") != period:
            diffs.append(FieldDiff("rotationPeriod", fields.get("rotationPeriod"), period))
        return compared(resource, observed, wanted, diffs, reason)

    # -- applying -------------------------------------------------------------------------

    def create(self, ctx: Context, change: Change) -> Observed | None:
        spec = change.after or {}
        body: JSON = {"purpose": kms.PURPOSE, "labels": dict(spec["labels"])}
        if spec.get("rotationPeriod"):
            body["rotationPeriod"] = spec["rotationPeriod"]
            body["nextRotationTime"] = next_rotation(spec["rotationPeriod"])
        ring, _, key_id = change.address.name.rpartition("/cryptoKeys/")
        try:
            key = ctx.api.call(f"{CRYPTO_KEYS}.create", parent=ring, cryptoKeyId=key_id, body=body)
        except GoogleApiError as error:
            if error.http_status != 409:
                raise
            found = kms.get(ctx, f"{CRYPTO_KEYS}.get", name=change.address.name)
            return self.adopt_after_conflict(ctx, change, None if found is None else observe(found))
        return observe(key)

    def update(self, ctx: Context, change: Change) -> Observed | None:
        spec = change.after or {}
        paths = change.fields_changed
        body: JSON = {}
        mask: list[str] = []
        if "labels" in paths:
            fresh = kms.get(ctx, f"{CRYPTO_KEYS}.get", name=change.address.name)
            body["labels"] = ownership.labels_to_write(fresh, spec["labels"])
            mask.append("labels")
        if "rotationPeriod" in paths:
            body["rotationPeriod"] = spec["rotationPeriod"]
            body["nextRotationTime"] = next_rotation(spec["rotationPeriod"])
            mask += ["rotationPeriod", "nextRotationTime"]
        if not mask:
            return None
        key = ctx.api.call(
            f"{CRYPTO_KEYS}.patch", name=change.address.name, updateMask=",".join(mask), body=body
        )
        return observe(key)

    # -- verifying ------------------------------------------------------------------------

    def probes(self, resource: Resource) -> list[Probe]:
        name = resource.address.name
        return [Probe("primary version enabled", name, partial(primary_enabled, key=name))]

    # -- permissions ----------------------------------------------------------------------

    def created_in(self, resource: Resource) -> Address:
        return Address(addresses.KEY_RING, addresses.ring_of_key(resource.address.name))

    def visible(self, ctx: Context, address: Address) -> bool:
        return readable(lambda: kms.get(ctx, f"{CRYPTO_KEYS}.get", name=address.name))

    def test_permissions(self, ctx: Context, name: str, permissions: Sequence[str]) -> set[str]:
        return kms.test_permissions(ctx, CRYPTO_KEYS, name, permissions)

    # -- removing -------------------------------------------------------------------------

    def plan_removal(
        self, ctx: Context, resource: Resource, state: JSON, scope: RemovalScope
    ) -> Change:
        return removal(resource, state, Action.FORGET, NEVER_DELETED)


def primary_enabled(ctx: Context, *, key: str) -> tuple[bool, str]:
    """For `verify`: the key exists and its primary version is ENABLED."""
    found = kms.get(ctx, f"{CRYPTO_KEYS}.get", name=key)
    if found is None:
        return False, "the key does not exist"
    primary = found.get("primary") or {}
    state = str(primary.get("state") or "no primary version")
    if state != "ENABLED":
        return False, f"primary version: {state}"
    return True, f"{primary.get('name', '')} ENABLED"


def owned(spec: JSON) -> JSON:
    wanted: JSON = {
        "projectId": spec["projectId"],
        "labels": ownership.with_label(spec.get("labels")),
        "adopt": bool(spec.get("adopt", False)),
    }
    if spec.get("rotationPeriod"):
        wanted["rotationPeriod"] = str(spec["rotationPeriod"])
    return wanted


def next_rotation(period: str, now: float | None = None) -> str:
    """RFC 3339 time one `period` (`{seconds}s`) after `now`."""
    seconds = float(period.removesuffix("s"))
    moment = datetime.fromtimestamp((time.time() if now is None else now) + seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def observe(key: JSON) -> Observed:
    fields: JSON = {
        "purpose": key.get("purpose"),
        "labels": dict(key.get("labels") or {}),
        "primaryState": (key.get("primary") or {}).get("state"),
    }
    if key.get("rotationPeriod"):
        fields["rotationPeriod"] = key["rotationPeriod"]
    return Observed(exists=True, fields=fields)
