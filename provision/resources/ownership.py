"""Which objects provision owns: the `managed-by: provision` label (pure).

Buckets and DICOM stores carry the label from the moment provision creates them. A pre-existing
object without it is taken over only when its blueprint entry says `adopt: true`; the plan then
adds the label and says it adopts the object. Healthcare datasets have no labels, so a dataset
counts as provision's when it is empty or holds at least one store carrying the label (see
`healthcare_dataset`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provision.errors import PlanError
from provision.model import Address

LABEL_KEY = "managed-by"
LABEL_VALUE = "provision"
LABEL: Mapping[str, str] = {LABEL_KEY: LABEL_VALUE}

ADOPT_REASON = "adopting an existing {what} not created by provision (adopt: true)"


def is_managed(labels: Mapping[str, Any] | None) -> bool:
    return bool(labels) and (labels or {}).get(LABEL_KEY) == LABEL_VALUE


def with_label(labels: Mapping[str, str] | None) -> dict[str, str]:
    """`labels` plus `managed-by: provision`."""
    return {**dict(labels or {}), **LABEL}


def not_ours(address: Address, what: str, where: str, detail: str = "") -> PlanError:
    """The error for a pre-existing object the blueprint does not say to adopt."""
    extra = f" ({detail})" if detail else ""
    return PlanError(
        f"{address}: this {what} already exists and was not created by provision{extra}; "
        f"to manage it, add `adopt: true` to its entry ({where}) in the blueprint, or choose "
        "another name"
    )
