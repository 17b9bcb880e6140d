"""Which objects provision owns: the `managed-by: provision` label (pure).

Buckets and DICOM stores carry the label from the moment provision creates them. DICOM stores
also carry `deletion-protection: true|false` (see `PROTECTION_KEY`). A pre-existing
object without it is managed only when its blueprint entry says `adopt: true`: the blueprint
entry is then the record, the object gets neither label (adopting writes nothing, so an exported
blueprint plans No changes) and `provision destroy` keeps it, as anything provision did not
create. Healthcare datasets have no labels, so a dataset
counts as provision's when it is empty or holds at least one store carrying the label (see
`healthcare_dataset`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provision.errors import PlanError
from provision.model import JSON, Address, Resource

LABEL_KEY = "managed-by"
LABEL_VALUE = "provision"
LABEL: Mapping[str, str] = {LABEL_KEY: LABEL_VALUE}

PROTECTION_KEY = "deletion-protection"
"""Label carrying `deletionProtection` on DICOM stores, so the guard stays with the store after
it leaves the blueprint (a guard kept only in the blueprint would vanish with the entry)."""

ADOPT_REASON = (
    "adopted: an existing {what} not created by provision (adopt: true; destroy keeps it)"
)
NOT_MANAGED = "not created by provision (no managed-by label)"
"""Why `provision destroy` keeps an object without the label."""


def is_managed(labels: Mapping[str, Any] | None) -> bool:
    return bool(labels) and (labels or {}).get(LABEL_KEY) == LABEL_VALUE


def with_label(labels: Mapping[str, str] | None) -> dict[str, str]:
    """`labels` plus `managed-by: provision`."""
    return {**dict(labels or {}), **LABEL}


def labels_to_write(fresh: Mapping[str, Any] | None, wanted: Mapping[str, str]) -> dict[str, str]:
    """The whole label map to write for additive labels: the object's labels as read right
    before the write (`fresh`, the object or None; so a label set since the plan is kept) with
    the blueprint's over them."""
    return {**dict((fresh or {}).get("labels") or {}), **wanted}


def without_ownership(labels: Mapping[str, str]) -> dict[str, str]:
    """`labels` without provision's own (`managed-by`, `deletion-protection`): what an adopted
    object is compared with."""
    return {k: v for k, v in labels.items() if k not in (LABEL_KEY, PROTECTION_KEY)}


def protection_label(on: bool) -> dict[str, str]:
    return {PROTECTION_KEY: "true" if on else "false"}


def is_protected(labels: Mapping[str, Any] | None) -> bool:
    """Deletion protection is on unless the label says `false` (absent counts as on)."""
    return str((labels or {}).get(PROTECTION_KEY, "true")) != "false"


def protected_error(address: Address, held_by: str) -> PlanError:
    """The refusal to delete an object whose deletion protection is on."""
    return PlanError(
        f"{address}: deletion protection is on ({held_by} has the label {PROTECTION_KEY}: true), "
        "so it is not deleted even when named with --allow-delete. To delete it, declare it "
        "again with `deletionProtection: false`, apply, then remove it from the blueprint and "
        "run with --allow-delete"
    )


def managed_or_adopted(
    resource: Resource, labels: Mapping[str, Any] | None, wanted: JSON, what: str, entry: str
) -> tuple[JSON, str]:
    """For an existing object with `labels`: the spec to compare it with and the change's reason.
    With provision's label it is `wanted` as declared (no reason); without it the blueprint must
    say `adopt: true` (else `not_ours`, naming its `entry` list when the resource has no source),
    and it is compared without provision's own labels (adopting writes none)."""
    if is_managed(labels):
        return wanted, ""
    if not wanted["adopt"]:
        where = str(resource.source) if resource.source else f"its `{entry}` entry"
        raise not_ours(resource.address, what, where, "no managed-by: provision label")
    adopted = {**wanted, "labels": without_ownership(wanted["labels"])}
    return adopted, ADOPT_REASON.format(what=what)


def not_ours(address: Address, what: str, where: str, detail: str = "") -> PlanError:
    """The error for a pre-existing object the blueprint does not say to adopt."""
    extra = f" ({detail})" if detail else ""
    return PlanError(
        f"{address}: this {what} already exists and was not created by provision{extra}; "
        f"to manage it, add `adopt: true` to its entry ({where}) in the blueprint, or choose "
        "another name"
    )
