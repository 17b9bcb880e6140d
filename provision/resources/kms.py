"""Cloud KMS as the KMS kinds and CMEK datasets share it (no kind of its own).

Declared once here: the service name, the role the Cloud Healthcare Service Agent needs on a
customer-managed encryption key (CMEK), the reads of key rings and keys (404 is None; 401/403
are raised), a key's IAM policy read and write (GET getIamPolicy with
`options.requestedPolicyVersion`, POST setIamPolicy with `{policy}`, cloudkms.v1.json), and
testIamPermissions.

Used by the kinds `kms.key_ring`, `kms.crypto_key`, `kms.crypto_key_iam` and by
`healthcare.dataset` (whose create waits for the agent's grant on its key to take effect).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from provision.errors import GoogleApiError
from provision.gcp.methods import CRYPTO_KEYS
from provision.model import JSON
from provision.resources.base import Context

SERVICE = "cloudkms.googleapis.com"
"""The API as `services` enables it; the KMS kinds answer only once it is enabled."""
API = "cloudkms"
"""The API as the gateway names it (`Kind.api`)."""
ENCRYPTER_ROLE = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
"""What the Cloud Healthcare Service Agent needs on a dataset's key (cloud.google.com/
healthcare-api/docs/cmek)."""
POLICY_VERSION = 3
PURPOSE = "ENCRYPT_DECRYPT"
"""The only key purpose a Healthcare dataset can use (symmetric encryption)."""


def get(ctx: Context, method: str, **params: Any) -> JSON | None:
    """A read answering None on 404 (403 is raised: unreadable never means absent)."""
    try:
        return ctx.api.call(method, **params)
    except GoogleApiError as error:
        if error.http_status == 404:
            return None
        raise


def get_key_policy(ctx: Context, key: str) -> JSON:
    """The IAM policy of the crypto key `key` (its full name)."""
    return ctx.api.call(
        f"{CRYPTO_KEYS}.getIamPolicy",
        resource=key,
        options_requestedPolicyVersion=POLICY_VERSION,
    )


def set_key_policy(ctx: Context, key: str, policy: JSON) -> JSON:
    return ctx.api.call(f"{CRYPTO_KEYS}.setIamPolicy", resource=key, body={"policy": policy})


def test_permissions(
    ctx: Context, collection: str, name: str, permissions: Sequence[str]
) -> set[str]:
    """Which of `permissions` the caller holds on the key ring or key `name`, whose methods
    start with `collection` (`KEY_RINGS`, `CRYPTO_KEYS`)."""
    answer = ctx.api.call(
        f"{collection}.testIamPermissions", resource=name, body={"permissions": list(permissions)}
    )
    return {str(p) for p in answer.get("permissions") or []}
