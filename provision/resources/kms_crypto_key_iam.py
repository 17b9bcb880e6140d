"""Kind `kms.crypto_key_iam` (`projects/{p}/locations/{l}/keyRings/{r}/cryptoKeys/{k}`):
bindings on a Cloud KMS key's IAM policy.

spec = {"bindings": [{"role", "members"}, ...], "keyDeclared": bool}

Made by expansion, never written by hand: a dataset with `encryptionSpec.kmsKeyName` grants the
project's Cloud Healthcare Service Agent `roles/cloudkms.cryptoKeyEncrypterDecrypter` on its key
(additive; nobody else is touched), and the dataset depends on this grant. The key may be one
the blueprint declares (`keyDeclared`: permissions are then tested on it, or where it would be
created) or an existing key, e.g. in a central security project (tested on the key's name).
Semantics and the read-modify-write live in `provision.resources.iam`. `provision destroy`
never takes the grant back: the data of a dataset encrypted with the key stays readable only
while the agent holds it.
"""

from __future__ import annotations

from collections.abc import Sequence

from provision.gcp.methods import CRYPTO_KEYS
from provision.model import JSON, Action, Address, Change, Resource
from provision.resources import addresses, kms
from provision.resources.base import Context, Needs, Probe, RemovalScope, removal
from provision.resources.iam import IamKind
from provision.resources.registry import register

KEPT = (
    "the Cloud Healthcare Service Agent keeps its role on the key: the data of datasets "
    "encrypted with it is readable only while it does"
)


@register
class CryptoKeyIamKind(IamKind):
    name = addresses.CRYPTO_KEY_IAM
    parent_kind = addresses.CRYPTO_KEY
    api = kms.API
    requires_services = frozenset({kms.SERVICE})
    set_method = f"{CRYPTO_KEYS}.setIamPolicy"
    needs = Needs(
        "roles/cloudkms.admin",
        ("cloudkms.cryptoKeys.getIamPolicy", "cloudkms.cryptoKeys.setIamPolicy"),
    )
    iam_admin_roles = frozenset({"roles/cloudkms.admin", "roles/owner"})

    def get_policy(self, ctx: Context, resource_name: str) -> JSON:
        return kms.get_key_policy(ctx, resource_name)

    def set_policy(self, ctx: Context, resource_name: str, policy: JSON) -> JSON:
        return kms.set_key_policy(ctx, resource_name, policy)

    def checked_on(self, resource: Resource) -> Address | str:
        """The key: its address when the blueprint declares it, else its name."""
        if resource.spec.get("keyDeclared"):
            return Address(addresses.CRYPTO_KEY, resource.address.name)
        return resource.address.name

    def test_permissions(self, ctx: Context, name: str, permissions: Sequence[str]) -> set[str]:
        return kms.test_permissions(ctx, CRYPTO_KEYS, name, permissions)

    def probes(self, resource: Resource) -> list[Probe]:
        """The Cloud Healthcare Service Agent holds its encrypter role on the key."""
        return self.binding_probes(resource)

    def plan_removal(
        self, ctx: Context, resource: Resource, state: JSON, scope: RemovalScope
    ) -> Change:
        return removal(resource, state, Action.FORGET, KEPT)
