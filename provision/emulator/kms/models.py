"""Cloud KMS v1 state and rules: key rings, crypto keys, their versions, and the IAM policies of
rings and keys.

Collections (keys are full resource names with the project ID): `kms_key_rings`
(`projects/p/locations/l/keyRings/r`), `kms_crypto_keys` (`.../cryptoKeys/k`) and
`kms_key_versions` (`.../cryptoKeyVersions/n`). Nothing here deletes key rings, keys or
versions (v1's `keyRings.delete`, `cryptoKeys.delete` and `cryptoKeyVersions.delete`, each
allowed only once everything under it was deleted, are not served: provision never calls them),
and ids stay taken; a key version can be scheduled for destruction. Policies use the shared
policies collection under the ring's or key's name.

Enums are stored by name and answered as numbers when the client asks for
`$alt=json;enum-encoding=int`; only the values listed in the tables below are taken as numbers.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from provision.emulator.core import iam
from provision.emulator.core.errors import ApiError, already_exists, invalid_argument, not_found
from provision.emulator.core.world import World, project_policy_name, rfc3339

SERVICE = "cloudkms.googleapis.com"
KEY_RINGS = "kms_key_rings"
CRYPTO_KEYS = "kms_crypto_keys"
VERSIONS = "kms_key_versions"

ID = re.compile(r"^[a-zA-Z0-9_-]{1,63}$")
LOCATION = re.compile(r"^[a-z]+(-[a-z]+[0-9]+)?$|^[a-z]+[0-9]$")
"""Location ids shaped like Cloud KMS's: regions (`us-central1`), multi-regions (`global`,
`us`, `eu`, `asia`) and dual regions (`nam4`). Which ones exist is not checked."""
KEY_NAME = re.compile(r"^projects/([^/]+)/locations/([^/]+)/keyRings/([^/]+)/cryptoKeys/([^/]+)$")
DEFAULT_DESTROY_DURATION = "2592000s"
"""30 days, as recorded (golden basic__kms__kmscryptokey)."""

PURPOSES: Mapping[str, int] = {
    "CRYPTO_KEY_PURPOSE_UNSPECIFIED": 0,
    "ENCRYPT_DECRYPT": 1,
    "ASYMMETRIC_SIGN": 5,
    "ASYMMETRIC_DECRYPT": 6,
    "RAW_ENCRYPT_DECRYPT": 7,
    "MAC": 9,
}
ALGORITHMS: Mapping[str, int] = {
    "CRYPTO_KEY_VERSION_ALGORITHM_UNSPECIFIED": 0,
    "GOOGLE_SYMMETRIC_ENCRYPTION": 1,
    "RSA_SIGN_PSS_2048_SHA256": 2,
    "RSA_SIGN_PKCS1_2048_SHA256": 5,
    "RSA_DECRYPT_OAEP_2048_SHA256": 8,
    "EC_SIGN_P256_SHA256": 12,
    "EC_SIGN_P384_SHA384": 13,
    "AES_256_GCM": 19,
    "HMAC_SHA256": 32,
    "AES_128_GCM": 41,
}
PROTECTION_LEVELS: Mapping[str, int] = {
    "PROTECTION_LEVEL_UNSPECIFIED": 0,
    "SOFTWARE": 1,
    "HSM": 2,
    "EXTERNAL": 3,
    "EXTERNAL_VPC": 4,
}
STATES: Mapping[str, int] = {
    "CRYPTO_KEY_VERSION_STATE_UNSPECIFIED": 0,
    "ENABLED": 1,
    "DISABLED": 2,
    "DESTROYED": 3,
    "DESTROY_SCHEDULED": 4,
    "PENDING_GENERATION": 5,
}
"""The proto numbers of google.cloud.kms.v1 (not the order of the discovery enums)."""
KEY_MUTABLE = frozenset({"labels", "rotationPeriod", "nextRotationTime", "versionTemplate"})
ENCRYPTER_DECRYPTER = "roles/cloudkms.cryptoKeyEncrypterDecrypter"


# ----- names


def check_location(location: str) -> None:
    if not LOCATION.match(location):
        # The text Google answers for an unknown location is not recorded; a plain 400.
        raise invalid_argument(f"Location '{location}' is not a Cloud KMS location.")


def check_id(value: str | None, field: str) -> str:
    if not value:
        raise invalid_argument(f"{field} is required.")
    if not ID.match(value):
        raise invalid_argument(
            f'Invalid {field} "{value}": it must be 1-63 characters of letters, digits, '
            "'_' and '-'."
        )
    return value


def ring_not_found(name: str) -> ApiError:
    return not_found(f"KeyRing {name} not found.")  # golden iam__..__kmscryptokey


def key_not_found(name: str) -> ApiError:
    return not_found(f"CryptoKey {name} not found.")  # golden iam__..__kmscryptokey


# ----- enums


def enum_name(value: Any, table: Mapping[str, int], field: str) -> str:
    """A request enum (a name or a proto number) as its name; a name the tables here do not
    list is 501."""
    if isinstance(value, int) and not isinstance(value, bool):
        for name, number in table.items():
            if number == value:
                return name
        raise invalid_argument(f"Invalid value at '{field}' (TYPE_ENUM), {value}")
    if isinstance(value, str) and value in table:
        return value
    if isinstance(value, str):  # a name of the discovery enum (the gate let it through)
        raise ApiError("UNIMPLEMENTED", f"{field} {value} is not emulated.", http=501)
    raise invalid_argument(f"Invalid value at '{field}' (TYPE_ENUM), \"{value}\"")


def _shown(name: str, table: Mapping[str, int], numeric: bool) -> str | int:
    return table[name] if numeric else name


# ----- key rings


def create_ring(world: World, name: str) -> dict[str, Any]:
    if world.store.get(KEY_RINGS, name) is not None:
        raise already_exists(f"KeyRing {name} already exists.")
    record = {"name": name, "createTime": world.now_rfc3339()}
    world.store.put(KEY_RINGS, name, record)
    return record


def require_ring(world: World, name: str) -> dict[str, Any]:
    ring = world.store.get(KEY_RINGS, name)
    if ring is None:
        raise ring_not_found(name)
    return ring


def list_rings(world: World, location_name: str) -> list[dict[str, Any]]:
    prefix = f"{location_name}/keyRings/"
    return [r for r in world.store.values(KEY_RINGS, prefix) if "/" not in r["name"][len(prefix) :]]


# ----- crypto keys


def _template(body: Mapping[str, Any], purpose: str) -> dict[str, str]:
    given = body.get("versionTemplate") or {}
    algorithm = enum_name(
        given.get("algorithm", "CRYPTO_KEY_VERSION_ALGORITHM_UNSPECIFIED"),
        ALGORITHMS,
        "crypto_key.version_template.algorithm",
    )
    if algorithm == "CRYPTO_KEY_VERSION_ALGORITHM_UNSPECIFIED":
        if purpose != "ENCRYPT_DECRYPT":
            raise invalid_argument(f"versionTemplate.algorithm is required for purpose {purpose}.")
        algorithm = "GOOGLE_SYMMETRIC_ENCRYPTION"
    if purpose == "ENCRYPT_DECRYPT" and algorithm != "GOOGLE_SYMMETRIC_ENCRYPTION":
        raise invalid_argument(
            f"Algorithm {algorithm} is not compatible with purpose ENCRYPT_DECRYPT."
        )
    level = enum_name(
        given.get("protectionLevel", "SOFTWARE"),
        PROTECTION_LEVELS,
        "crypto_key.version_template.protection_level",
    )
    if level == "PROTECTION_LEVEL_UNSPECIFIED":
        level = "SOFTWARE"
    return {"algorithm": algorithm, "protectionLevel": level}


def create_key(
    world: World, ring: dict[str, Any], key_id: str, body: Mapping[str, Any], *, skip_version: bool
) -> dict[str, Any]:
    """A new key; with ENCRYPT_DECRYPT (and unless `skip_version`) version 1 is its primary."""
    name = f"{ring['name']}/cryptoKeys/{key_id}"
    if world.store.get(CRYPTO_KEYS, name) is not None:
        raise already_exists(f"CryptoKey {name} already exists.")
    purpose = enum_name(
        body.get("purpose", "CRYPTO_KEY_PURPOSE_UNSPECIFIED"), PURPOSES, "crypto_key.purpose"
    )
    if purpose == "CRYPTO_KEY_PURPOSE_UNSPECIFIED":
        raise invalid_argument("The CryptoKey purpose is required.")
    if body.get("rotationPeriod") and purpose != "ENCRYPT_DECRYPT":
        raise invalid_argument("Only ENCRYPT_DECRYPT keys can have a rotation period.")
    record: dict[str, Any] = {
        "name": name,
        "purpose": purpose,
        "createTime": world.now_rfc3339(),
        "versionTemplate": _template(body, purpose),
        "destroyScheduledDuration": body.get("destroyScheduledDuration")
        or DEFAULT_DESTROY_DURATION,
        "_versions": 0,
    }
    for field in ("labels", "rotationPeriod", "nextRotationTime", "importOnly"):
        if body.get(field):
            record[field] = copy.deepcopy(body[field])
    if not skip_version and not body.get("importOnly"):
        version = _new_version(world, record)
        if purpose == "ENCRYPT_DECRYPT":
            record["_primary"] = version["name"]
            record["_primaryCopy"] = version
    world.store.put(CRYPTO_KEYS, name, record)
    return record


def _new_version(world: World, key: dict[str, Any]) -> dict[str, Any]:
    key["_versions"] = int(key["_versions"]) + 1
    now = world.now_rfc3339()
    version = {
        "name": f"{key['name']}/cryptoKeyVersions/{key['_versions']}",
        "state": "ENABLED",
        "createTime": now,
        "generateTime": now,
        **key["versionTemplate"],
    }
    world.store.put(VERSIONS, version["name"], version)
    return version


def find_key(world: World, name: str) -> dict[str, Any] | None:
    return world.store.get(CRYPTO_KEYS, name)


def require_key(world: World, name: str) -> dict[str, Any]:
    key = find_key(world, name)
    if key is None:
        raise key_not_found(name)
    return key


def list_keys(world: World, ring_name: str) -> list[dict[str, Any]]:
    prefix = f"{ring_name}/cryptoKeys/"
    return [
        k for k in world.store.values(CRYPTO_KEYS, prefix) if "/" not in k["name"][len(prefix) :]
    ]


def patch_key(
    world: World, key: dict[str, Any], body: Mapping[str, Any], mask: str | None
) -> dict[str, Any]:
    """Apply the fields named by `updateMask` (required); other body fields are ignored, as the
    recorded patches that resend the whole key show."""
    paths = [path.strip() for path in (mask or "").split(",") if path.strip()]
    if not paths:
        raise invalid_argument("An update mask is required.")
    record = copy.deepcopy(key)
    for path in paths:
        top = path.split(".")[0]
        if top not in KEY_MUTABLE:
            raise invalid_argument(f"The update mask path {path} is not mutable.")
        if top == "versionTemplate":
            record["versionTemplate"] = _template(body, record["purpose"])
        elif top == "rotationPeriod" and body.get(top) and record["purpose"] != "ENCRYPT_DECRYPT":
            raise invalid_argument("Only ENCRYPT_DECRYPT keys can have a rotation period.")
        elif body.get(top):
            record[top] = copy.deepcopy(body[top])
        else:
            record.pop(top, None)
    world.store.put(CRYPTO_KEYS, record["name"], record)
    return record


def render_key(key: dict[str, Any], *, numeric: bool) -> dict[str, Any]:
    out = {k: copy.deepcopy(v) for k, v in key.items() if not k.startswith("_")}
    out["purpose"] = _shown(key["purpose"], PURPOSES, numeric)
    out["versionTemplate"] = {
        "algorithm": _shown(key["versionTemplate"]["algorithm"], ALGORITHMS, numeric),
        "protectionLevel": _shown(
            key["versionTemplate"]["protectionLevel"], PROTECTION_LEVELS, numeric
        ),
    }
    if key.get("_primaryCopy"):
        # The copy made when the version became primary: destroying the version leaves it as
        # it was (golden basic__kms__kmscryptokey: ENABLED, no destroyTime, after a destroy).
        out["primary"] = render_version(key["_primaryCopy"], numeric=numeric)
    return out


# ----- versions


def require_version(world: World, name: str) -> dict[str, Any]:
    version = world.store.get(VERSIONS, name)
    if version is None:
        raise not_found(f"CryptoKeyVersion {name} not found.")
    return version


def list_versions(world: World, key_name: str) -> list[dict[str, Any]]:
    versions = world.store.values(VERSIONS, f"{key_name}/cryptoKeyVersions/")
    return sorted(versions, key=lambda v: int(v["name"].rsplit("/", 1)[1]))


def destroy_version(world: World, key: dict[str, Any], version: dict[str, Any]) -> dict[str, Any]:
    """Schedule destruction after the key's `destroyScheduledDuration`."""
    if version["state"] not in ("ENABLED", "DISABLED"):
        raise ApiError(
            "FAILED_PRECONDITION",
            f"The request cannot be fulfilled. Resource {version['name']} has value "
            f"{version['state']} in field crypto_key_version.state.",
        )
    seconds = float(str(key["destroyScheduledDuration"]).removesuffix("s") or 0)
    record = {**version, "state": "DESTROY_SCHEDULED"}
    record["destroyTime"] = rfc3339(world.now() + seconds)
    world.store.put(VERSIONS, record["name"], record)
    return record


def render_version(version: dict[str, Any], *, numeric: bool) -> dict[str, Any]:
    out = copy.deepcopy(version)
    out["state"] = _shown(version["state"], STATES, numeric)
    out["algorithm"] = _shown(version["algorithm"], ALGORITHMS, numeric)
    out["protectionLevel"] = _shown(version["protectionLevel"], PROTECTION_LEVELS, numeric)
    return out


# ----- what other APIs ask of a key


def parse_key_name(name: Any) -> tuple[str, str, str, str] | None:
    """(project, location, ring, key) of a crypto key name, or None when it is not one."""
    found = KEY_NAME.match(name) if isinstance(name, str) else None
    return None if found is None else (found[1], found[2], found[3], found[4])


def key_usable_by(world: World, key_name: str, member: str) -> tuple[bool, str]:
    """Whether `member` can encrypt and decrypt with the key (its role on the key, its ring or
    its project, in effect) and the key has an enabled primary version; (False, why) if not.
    `key_name` uses the project ID; a key that does not exist, or whose project has Cloud KMS
    disabled, is not usable."""
    key = find_key(world, key_name)
    project = world.find_project(key_name.split("/")[1])
    if key is None or project is None or not world.service_enabled(project["number"], SERVICE):
        return False, "missing"
    resources = (
        key_name,
        key_name.split("/cryptoKeys/", maxsplit=1)[0],
        project_policy_name(project["number"]),
    )
    if not iam.member_holds_any(world, resources, member, frozenset({ENCRYPTER_DECRYPTER})):
        return False, "permission"
    primary = world.store.get(VERSIONS, key["_primary"]) if key.get("_primary") else None
    if primary is None or primary.get("state") != "ENABLED":
        return False, "disabled"
    return True, ""
