"""Customer-managed encryption keys (CMEK) of Healthcare datasets.

A dataset created with `encryptionSpec.kmsKeyName` needs a Cloud KMS key in the dataset's own
location ("Only the key in the same location as this Dataset is allowed", healthcare.v1.json)
that the project's Cloud Healthcare Service Agent can use: it holds
`roles/cloudkms.cryptoKeyEncrypterDecrypter` on the key, its key ring or the key's project, in
effect (`iam_effect_delay_s`), and the key has an enabled primary version. The spec can be given
only at creation (`encryptionSpec` is not a patchable path). CMEK-encrypted data cannot be
de-identified (cloud.google.com/healthcare-api/docs/cmek, "Limitations").

Google's texts for these refusals are not recorded anywhere we know of: the unusable key is a
403 in the words Cloud KMS uses for the permission (other services quote it when they cannot
use a key), the rest are plain 400s. Whether the refusal comes at once or as the failed
create operation is not known either (`cmek_failure_in_operation`).
"""

from __future__ import annotations

from typing import Any

from provision.emulator.core.errors import ApiError, invalid_argument
from provision.emulator.core.world import World
from provision.emulator.kms import models as kms

SERVICE = "healthcare.googleapis.com"
KEY_FORMAT = "projects/{project}/locations/{location}/keyRings/{keyRing}/cryptoKeys/{key}"


def check_spec(world: World, project_number: str, location: str, spec: Any) -> ApiError | None:
    """Raise the 400 of a malformed spec; return the error of a key the agent cannot use (or
    None when the dataset can be created with it)."""
    key_name = spec.get("kmsKeyName") if isinstance(spec, dict) else None
    if not key_name:
        raise invalid_argument("encryptionSpec.kmsKeyName is required.")
    parsed = kms.parse_key_name(key_name)
    if parsed is None:
        raise invalid_argument(f'Invalid kmsKeyName "{key_name}": expected {KEY_FORMAT}.')
    key_project, key_location, ring, key = parsed
    if key_location != location:
        raise invalid_argument(
            f"The Cloud KMS key {key_name} is in {key_location}: a dataset in {location} can "
            "only use a key in the same location."
        )
    found = world.find_project(key_project)
    canonical = f"projects/{found['projectId'] if found else key_project}/locations/"
    canonical += f"{key_location}/keyRings/{ring}/cryptoKeys/{key}"
    agent = world.service_agent_email(project_number, SERVICE) or ""
    usable, why = kms.key_usable_by(world, canonical, f"serviceAccount:{agent}")
    if usable:
        return None
    if why == "disabled":
        return ApiError(
            "FAILED_PRECONDITION", f"The Cloud KMS key {key_name} has no enabled primary version."
        )
    return ApiError(
        "PERMISSION_DENIED",
        f"The Cloud Healthcare Service Agent {agent} cannot use the Cloud KMS key {key_name}: "
        f"Permission 'cloudkms.cryptoKeyVersions.useToEncrypt' denied on resource "
        f"'{key_name}' (or it may not exist).",
    )


def encrypted(dataset: dict[str, Any]) -> bool:
    return bool((dataset.get("encryptionSpec") or {}).get("kmsKeyName"))
