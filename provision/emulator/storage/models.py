"""Cloud Storage state and rules: buckets, their IAM policies, objects and resumable uploads.

Collections (key in parentheses):
- `buckets` (bucket name): the bucket resource as stored (metageneration as an int).
- `objects` (`{bucket}/{object name}`): object metadata; the bytes are blob `gcs/{bucket}/{name}`.
- `storage_uploads` (upload id): open resumable upload sessions; bytes so far in blob
  `upload/{id}`.
A bucket's IAM policy lives in the shared policies collection under `projects/_/buckets/{name}`.

Other APIs (the Healthcare import) read buckets and objects through `find_bucket`,
`list_object_names`, `read_object` and `bucket_policy_name`.
"""

from __future__ import annotations

import base64
import copy
import ipaddress
import re
from typing import Any
from urllib.parse import quote

from provision.emulator.core import iam
from provision.emulator.core.errors import ApiError
from provision.emulator.core.ids import policy_etag
from provision.emulator.core.world import POLICIES, World, project_policy_name, rfc3339
from provision.emulator.storage import checksums

BUCKETS = "buckets"
OBJECTS = "objects"
UPLOADS = "storage_uploads"
SERVICE = "storage.googleapis.com"

MULTI_REGIONS = frozenset({"US", "EU", "ASIA"})
DUAL_REGIONS = frozenset({"NAM4", "EUR4", "ASIA1", "EUR5", "EUR7", "EUR8"})
STORAGE_CLASSES = frozenset(
    {
        "STANDARD",
        "NEARLINE",
        "COLDLINE",
        "ARCHIVE",
        "MULTI_REGIONAL",
        "REGIONAL",
        "DURABLE_REDUCED_AVAILABILITY",
    }
)
SOFT_DELETE_SECONDS = "604800"
UBLA_LOCK_SECONDS = 90 * 24 * 3600
MAX_LIST = 1000

OBJECT_READERS = frozenset(
    {
        "roles/storage.objectViewer",
        "roles/storage.objectUser",
        "roles/storage.objectAdmin",
        "roles/storage.admin",
    }
)
"""Roles that let a principal read objects (what an import's service agent needs)."""

BUCKET_WRITABLE = (
    "labels",
    "storageClass",
    "iamConfiguration",
    "versioning",
    "lifecycle",
    "cors",
    "website",
    "logging",
    "retentionPolicy",
    "defaultEventBasedHold",
    "encryption",
    "billing",
    "autoclass",
    "softDeletePolicy",
    "rpo",
    "hierarchicalNamespace",
)
OBJECT_WRITABLE = (
    "contentType",
    "contentEncoding",
    "contentDisposition",
    "contentLanguage",
    "cacheControl",
    "metadata",
    "customTime",
    "temporaryHold",
    "eventBasedHold",
)


# ----- errors (Cloud Storage dialect: `errors[].reason` carries the meaning)


def error(http: int, message: str, reason: str) -> ApiError:
    status = {
        400: "INVALID_ARGUMENT",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        409: "ALREADY_EXISTS",
        412: "FAILED_PRECONDITION",
    }.get(http, "UNKNOWN")
    return ApiError(status, message, http=http, legacy_reason=reason)


def precondition_failed() -> ApiError:
    return error(412, "Precondition Failed", "conditionNotMet")


def bucket_not_found() -> ApiError:
    return error(404, "The specified bucket does not exist.", "notFound")


def object_not_found(bucket: str, name: str) -> ApiError:
    return error(404, f"No such object: {bucket}/{name}", "notFound")


def required(parameter: str) -> ApiError:
    return error(400, f"Required parameter: {parameter}", "required")


# ----- names


_GOOGLE_LIKE = re.compile(r"g[o0]{2,}g[l1]e|g[o0][o0]g[l1]", re.IGNORECASE)


def valid_bucket_name(name: str) -> bool:
    """Cloud Storage bucket naming rules (storage/docs/buckets#naming)."""
    if not 3 <= len(name) <= 222:
        return False
    if any(not (c.isascii() and (c.islower() or c.isdigit() or c in "-_.")) for c in name):
        return False
    if not (name[0].isalnum() and name[-1].isalnum()):
        return False
    components = name.split(".")
    if len(components) == 1 and len(name) > 63:
        return False
    if any(not 1 <= len(part) <= 63 for part in components):
        return False
    try:
        ipaddress.ip_address(name)
        return False
    except ValueError:
        pass
    if name.startswith("goog"):
        return False
    return _GOOGLE_LIKE.search(name) is None


def check_bucket_name(name: str) -> None:
    if not valid_bucket_name(name):
        raise error(400, f"Invalid bucket name: '{name}'", "invalid")


def bucket_policy_name(bucket: str) -> str:
    """The key of a bucket's IAM policy (also its `resourceId`)."""
    return f"projects/_/buckets/{bucket}"


# ----- time and generations


def _microseconds(world: World) -> int:
    return int(world.now() * 1_000_000)


def _next_generation(world: World, previous: int = 0) -> int:
    return max(_microseconds(world), previous + 1)


def _etag(*numbers: int) -> str:
    """A protobuf-like etag of (generation, metageneration) as Cloud Storage shows them."""
    payload = bytearray()
    for field_number, number in enumerate(numbers, start=1):
        payload.append(field_number << 3)
        value = number
        while True:
            byte = value & 0x7F
            value >>= 7
            payload.append(byte | (0x80 if value else 0))
            if not value:
                break
    return base64.b64encode(bytes(payload)).decode()


# ----- labels


def check_labels(labels: Any) -> dict[str, str]:
    """Generic Google Cloud label rules: <= 64, keys 1-63 starting with a lowercase letter."""
    if labels is None:
        return {}
    if not isinstance(labels, dict):
        raise error(400, "Invalid argument: labels must be an object.", "invalid")
    if len(labels) > 64:
        raise error(400, "A bucket may have at most 64 labels.", "invalid")
    for key, value in labels.items():
        if value is None:
            continue
        if not _label_text(key, first=True) or not 1 <= len(key) <= 63:
            raise error(400, f"Invalid label key: '{key}'", "invalid")
        if not isinstance(value, str) or not _label_text(value, first=False) or len(value) > 63:
            raise error(400, f"Invalid label value: '{value}'", "invalid")
    return {str(k): str(v) for k, v in labels.items() if v is not None}


def _label_text(text: Any, *, first: bool) -> bool:
    if not isinstance(text, str):
        return False
    if first and (
        not text or not (text[0].islower() or (not text[0].isascii() and text[0].isalpha()))
    ):
        return False
    return all(
        (c.isascii() and (c.islower() or c.isdigit() or c in "-_"))
        or (not c.isascii() and c.isalnum())
        for c in text
    )


# ----- buckets


def find_bucket(world: World, name: str) -> dict[str, Any] | None:
    return world.store.get(BUCKETS, name)


def require_bucket(world: World, name: str) -> dict[str, Any]:
    check_bucket_name(name)
    bucket = find_bucket(world, name)
    if bucket is None:
        raise bucket_not_found()
    return bucket


def _location_type(location: str) -> str:
    if location in MULTI_REGIONS:
        return "multi-region"
    if location in DUAL_REGIONS or "+" in location:
        return "dual-region"
    return "region"


def _iam_configuration(
    world: World, requested: Any, current: dict[str, Any] | None
) -> dict[str, Any]:
    """`iamConfiguration` with `uniformBucketLevelAccess` and its alias `bucketPolicyOnly`."""
    requested = requested if isinstance(requested, dict) else {}
    ubla_in = requested.get("uniformBucketLevelAccess") or requested.get("bucketPolicyOnly") or {}
    was = (current or {}).get("uniformBucketLevelAccess", {"enabled": False})
    enabled = bool(ubla_in.get("enabled", was.get("enabled", False)))
    ubla: dict[str, Any] = {"enabled": enabled}
    if enabled:
        locked = was.get("lockedTime") if was.get("enabled") else None
        if locked is None:
            locked = rfc3339(world.now() + UBLA_LOCK_SECONDS)
        ubla["lockedTime"] = locked
    prevention = requested.get(
        "publicAccessPrevention", (current or {}).get("publicAccessPrevention", "inherited")
    )
    if prevention not in ("inherited", "enforced", "unspecified"):
        raise error(400, f"Invalid value for publicAccessPrevention: '{prevention}'", "invalid")
    if prevention == "unspecified":
        prevention = "inherited"
    return {
        "bucketPolicyOnly": copy.deepcopy(ubla),
        "uniformBucketLevelAccess": ubla,
        "publicAccessPrevention": prevention,
    }


def ubla_enabled(bucket: dict[str, Any]) -> bool:
    return bool(bucket["iamConfiguration"]["uniformBucketLevelAccess"]["enabled"])


def insert_bucket(world: World, project: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Create a bucket in `project` from a `Bucket` body; returns the stored record."""
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise required("name")
    check_bucket_name(name)
    existing = find_bucket(world, name)
    if existing is not None:
        if existing["projectNumber"] == project["number"]:
            raise error(
                409,
                "Your previous request to create the named bucket succeeded and you already "
                "own it.",
                "conflict",
            )
        raise error(
            409,
            "The requested bucket name is not available. The bucket namespace is shared by all "
            "users of the system. Please select a different name and try again.",
            "conflict",
        )
    location = str(body.get("location") or "US").upper()
    storage_class = str(body.get("storageClass") or "STANDARD").upper()
    if storage_class not in STORAGE_CLASSES:
        raise error(400, f"Invalid storage class: '{storage_class}'", "invalid")
    now = world.now_rfc3339()
    record: dict[str, Any] = {
        "name": name,
        "projectNumber": project["number"],
        "projectId": project["projectId"],
        "generation": str(_next_generation(world)),
        "metageneration": 1,
        "location": location,
        "locationType": _location_type(location),
        "storageClass": storage_class,
        "iamConfiguration": _iam_configuration(world, body.get("iamConfiguration"), None),
        "labels": check_labels(body.get("labels")),
        "timeCreated": now,
        "updated": now,
        "softDeletePolicy": {"effectiveTime": now, "retentionDurationSeconds": SOFT_DELETE_SECONDS},
        "rpo": "DEFAULT",
    }
    for key in BUCKET_WRITABLE:
        if key in body and key not in record and body[key] is not None:
            record[key] = copy.deepcopy(body[key])
    if "softDeletePolicy" in body:
        record["softDeletePolicy"] = _soft_delete_policy(world, body["softDeletePolicy"], None)
    world.store.put(BUCKETS, name, record)
    world.store.put(
        POLICIES,
        bucket_policy_name(name),
        {"bindings": _legacy_bindings(project["projectId"]), "revision": 1, "grantedAt": {}},
    )
    return record


def _legacy_bindings(project_id: str) -> list[dict[str, Any]]:
    return [
        {
            "role": "roles/storage.legacyBucketOwner",
            "members": [f"projectEditor:{project_id}", f"projectOwner:{project_id}"],
        },
        {"role": "roles/storage.legacyBucketReader", "members": [f"projectViewer:{project_id}"]},
    ]


def check_metageneration(bucket_or_object: dict[str, Any], query: Any) -> None:
    """`ifMetagenerationMatch` / `ifMetagenerationNotMatch` preconditions (412 when unmet)."""
    current = int(bucket_or_object["metageneration"])
    match = precondition(query, "ifMetagenerationMatch")
    if match is not None and match != current:
        raise precondition_failed()
    not_match = precondition(query, "ifMetagenerationNotMatch")
    if not_match is not None and not_match == current:
        raise precondition_failed()


def precondition(query: Any, name: str) -> int | None:
    """The integer of precondition `name` (None when absent); 400 when it is not one."""
    value = query.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise error(400, f"Invalid argument for {name}: '{value}'", "invalid") from None


def patch_bucket(
    world: World, bucket: dict[str, Any], body: dict[str, Any], *, replace: bool = False
) -> dict[str, Any]:
    """Apply a patch (or, with `replace`, a full update) of the writable fields."""
    record = copy.deepcopy(bucket)
    for key in BUCKET_WRITABLE:
        if key not in body:
            if replace and key == "softDeletePolicy":
                # An update (a full replace) without it gets the default policy, as a bucket
                # inserted without one does.
                record[key] = _soft_delete_policy(world, None, record.get(key))
            elif replace and key not in ("labels", "storageClass", "iamConfiguration", "rpo"):
                record.pop(key, None)
            continue
        value = body[key]
        if key == "labels":
            record["labels"] = _patched_labels(record, value, replace=replace)
        elif key == "storageClass":
            record["storageClass"] = _storage_class(value)
        elif key == "iamConfiguration":
            record["iamConfiguration"] = _patched_iam_configuration(world, record, value)
        elif key == "softDeletePolicy":
            record["softDeletePolicy"] = _soft_delete_policy(world, value, record.get(key))
        elif key == "lifecycle" and not (value or {}).get("rule"):
            record.pop(key, None)  # no rules is no lifecycle (golden storagebucketbasic, PATCH)
        elif value is None:
            record.pop(key, None)
        else:
            record[key] = copy.deepcopy(value)
    record["metageneration"] = int(record["metageneration"]) + 1
    record["updated"] = world.now_rfc3339()
    world.store.put(BUCKETS, record["name"], record)
    return record


def _patched_labels(record: dict[str, Any], value: Any, *, replace: bool) -> dict[str, str]:
    """The labels once `value` is written: replaced by an update, merged by a patch (where a
    null value deletes its label)."""
    if replace or not isinstance(value, dict):
        return check_labels(value)
    merged = {**(record.get("labels") or {}), **value}
    return check_labels({k: v for k, v in merged.items() if v is not None})


def _storage_class(value: Any) -> str:
    storage_class = str(value or "STANDARD").upper()
    if storage_class not in STORAGE_CLASSES:
        raise error(400, f"Invalid storage class: '{storage_class}'", "invalid")
    return storage_class


def _patched_iam_configuration(world: World, record: dict[str, Any], value: Any) -> dict[str, Any]:
    """The bucket's `iamConfiguration` once `value` is written; uniform bucket-level access
    cannot be turned off while the bucket's policy has conditions."""
    new = _iam_configuration(world, value, record["iamConfiguration"])
    if ubla_enabled(record) and not new["uniformBucketLevelAccess"]["enabled"]:
        policy = world.store.get(POLICIES, bucket_policy_name(record["name"])) or {}
        if iam.has_conditions(policy.get("bindings") or []):
            raise error(
                400,
                "Uniform bucket-level access cannot be disabled while the bucket IAM "
                "policy contains conditions.",
                "invalid",
            )
    return new


def _soft_delete_policy(
    world: World, wanted: Any, current: dict[str, Any] | None
) -> dict[str, Any]:
    """The bucket's soft delete policy once `wanted` (a `softDeletePolicy` body, or None for
    the default) is written; `effectiveTime` moves only when the duration changes."""
    if wanted is not None and not isinstance(wanted, dict):
        raise error(400, "Invalid value for softDeletePolicy.", "invalid")
    seconds = str((wanted or {}).get("retentionDurationSeconds", SOFT_DELETE_SECONDS))
    if current and current.get("retentionDurationSeconds") == seconds:
        return current
    if seconds == "0":  # soft delete off: no effective time (golden storagebucketbasic, PATCH)
        return {"retentionDurationSeconds": "0"}
    return {"effectiveTime": world.now_rfc3339(), "retentionDurationSeconds": seconds}


def delete_bucket(world: World, name: str) -> None:
    if world.store.items(OBJECTS, f"{name}/"):
        raise error(409, "The bucket you tried to delete is not empty.", "conflict")
    world.store.delete(BUCKETS, name)
    iam.delete_policy(world, bucket_policy_name(name))


def list_buckets(world: World, project: dict[str, Any], prefix: str = "") -> list[dict[str, Any]]:
    return [
        bucket
        for bucket in world.store.values(BUCKETS, prefix)
        if bucket["projectNumber"] == project["number"]
    ]


def render_bucket(
    bucket: dict[str, Any], base_url: str, projection: str = "noAcl"
) -> dict[str, Any]:
    """The `Bucket` resource as the JSON API returns it. It shares nested values with `bucket`,
    which must be the caller's own copy (as every `Store.get` returns) and not change afterwards."""
    name = bucket["name"]
    out: dict[str, Any] = {
        "kind": "storage#bucket",
        "selfLink": f"{base_url}/storage/v1/b/{name}",
        "id": name,
        "name": name,
        "projectNumber": bucket["projectNumber"],
        "generation": bucket["generation"],
        "metageneration": str(bucket["metageneration"]),
        "location": bucket["location"],
        "storageClass": bucket["storageClass"],
        "etag": policy_etag(int(bucket["metageneration"])),
        "timeCreated": bucket["timeCreated"],
        "updated": bucket["updated"],
        "softDeletePolicy": bucket["softDeletePolicy"],
        "iamConfiguration": bucket["iamConfiguration"],
        "locationType": bucket["locationType"],
        "rpo": bucket.get("rpo", "DEFAULT"),
    }
    if bucket.get("labels"):
        out["labels"] = dict(bucket["labels"])
    for key in BUCKET_WRITABLE:
        if key not in out and key in bucket and key != "labels":
            out[key] = bucket[key]
    if projection == "full":
        number = bucket["projectNumber"]
        out["owner"] = {"entity": f"project-owners-{number}"}
        if not ubla_enabled(bucket):
            out["acl"] = [
                _acl(name, number, "owners", "OWNER", out["selfLink"]),
                _acl(name, number, "editors", "OWNER", out["selfLink"]),
                _acl(name, number, "viewers", "READER", out["selfLink"]),
            ]
            out["defaultObjectAcl"] = [
                {
                    "kind": "storage#objectAccessControl",
                    "entity": f"project-{team}-{number}",
                    "role": role,
                    "etag": "CAE=",
                    "projectTeam": {"projectNumber": number, "team": team},
                }
                for team, role in (("owners", "OWNER"), ("editors", "OWNER"), ("viewers", "READER"))
            ]
    return out


def _acl(bucket: str, number: str, team: str, role: str, self_link: str) -> dict[str, Any]:
    entity = f"project-{team}-{number}"
    return {
        "kind": "storage#bucketAccessControl",
        "id": f"{bucket}/{entity}",
        "selfLink": f"{self_link}/acl/{entity}",
        "bucket": bucket,
        "entity": entity,
        "role": role,
        "etag": "CAE=",
        "projectTeam": {"projectNumber": number, "team": team},
    }


# ----- bucket IAM


def get_bucket_policy(
    world: World, bucket: dict[str, Any], requested_version: int
) -> dict[str, Any]:
    policy = iam.get_policy(world, bucket_policy_name(bucket["name"]), requested_version)
    if policy.get("version") == 3 and requested_version < 3:
        raise error(
            400,
            "The bucket IAM policy contains conditions; request it with "
            "optionsRequestedPolicyVersion=3.",
            "invalid",
        )
    return _render_policy(bucket["name"], policy)


def set_bucket_policy(
    world: World, bucket: dict[str, Any], policy: dict[str, Any]
) -> dict[str, Any]:
    for binding in policy.get("bindings") or []:
        role = binding.get("role") if isinstance(binding, dict) else None
        if isinstance(role, str) and not (
            role.startswith("roles/storage.") or role.startswith(("projects/", "organizations/"))
        ):
            raise error(400, f"Role {role} is not supported for this resource.", "invalid")
    written = iam.set_policy(
        world,
        bucket_policy_name(bucket["name"]),
        policy,
        iam.STORAGE,
        uniform_access=ubla_enabled(bucket),
    )
    return _render_policy(bucket["name"], written)


def _render_policy(bucket: str, policy: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": "storage#policy",
        "resourceId": bucket_policy_name(bucket),
        "version": policy.get("version", 1),
    }
    if policy.get("bindings"):
        out["bindings"] = policy["bindings"]
    out["etag"] = policy["etag"]
    return out


def member_can_read_objects(world: World, bucket: dict[str, Any], member: str) -> bool:
    """True when `member` holds an object-reading role on the bucket or its project (in effect)."""
    resources = (bucket_policy_name(bucket["name"]), project_policy_name(bucket["projectNumber"]))
    return any(
        iam.member_holds(world, resource, member, role)
        for resource in resources
        for role in OBJECT_READERS
    )


# ----- objects


def _object_key(bucket: str, name: str) -> str:
    return f"{bucket}/{name}"


def _blob_key(bucket: str, name: str) -> str:
    return f"gcs/{bucket}/{name}"


def find_object(world: World, bucket: str, name: str) -> dict[str, Any] | None:
    return world.store.get(OBJECTS, _object_key(bucket, name))


def require_object(world: World, bucket: str, name: str, generation: Any = None) -> dict[str, Any]:
    found = find_object(world, bucket, name)
    if found is None or (generation not in (None, "") and str(generation) != found["generation"]):
        raise object_not_found(bucket, name)
    return found


def read_object(world: World, bucket: str, name: str) -> bytes:
    return world.store.get_blob(_blob_key(bucket, name)) or b""


def list_object_names(world: World, bucket: str) -> list[str]:
    """Every object name in `bucket`, sorted."""
    prefix = f"{bucket}/"
    return [key[len(prefix) :] for key, _ in world.store.items(OBJECTS, prefix)]


def check_generation(existing: dict[str, Any] | None, query: Any) -> None:
    """`ifGenerationMatch` (0 = must not exist) and `ifGenerationNotMatch` (412 when unmet)."""
    current = int(existing["generation"]) if existing else 0
    match = precondition(query, "ifGenerationMatch")
    if match is not None and match != current:
        raise precondition_failed()
    not_match = precondition(query, "ifGenerationNotMatch")
    if not_match is not None and not_match == current:
        raise precondition_failed()
    if existing is not None:
        check_metageneration(existing, query)
    elif precondition(query, "ifMetagenerationMatch") is not None:
        raise precondition_failed()


def check_object_name(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise required("name")
    if len(name.encode()) > 1024 or "\r" in name or "\n" in name or name in (".", ".."):
        raise error(400, "The specified object name is not valid.", "invalid")
    return name


def write_object(
    world: World,
    bucket: dict[str, Any],
    name: Any,
    data: bytes,
    metadata: dict[str, Any],
    query: Any,
) -> dict[str, Any]:
    """Store a new generation of an object, honouring preconditions and sent checksums."""
    name = check_object_name(name)
    existing = find_object(world, bucket["name"], name)
    check_generation(existing, query)
    crc = checksums.crc32c_b64(data)
    md5 = checksums.md5_b64(data)
    if metadata.get("crc32c") not in (None, crc):
        raise error(
            400,
            f'Provided CRC32C "{metadata["crc32c"]}" doesn\'t match calculated CRC32C "{crc}".',
            "invalid",
        )
    if metadata.get("md5Hash") not in (None, md5):
        raise error(
            400,
            f'Provided MD5 hash "{metadata["md5Hash"]}" doesn\'t match calculated MD5 hash '
            f'"{md5}".',
            "invalid",
        )
    generation = _next_generation(world, int(existing["generation"]) if existing else 0)
    now = world.now_rfc3339()
    record: dict[str, Any] = {
        "name": name,
        "bucket": bucket["name"],
        "generation": str(generation),
        "metageneration": "1",
        "contentType": metadata.get("contentType") or "application/octet-stream",
        "storageClass": bucket["storageClass"],
        "size": str(len(data)),
        "md5Hash": md5,
        "crc32c": crc,
        "timeCreated": now,
        "updated": now,
        "timeStorageClassUpdated": now,
        "timeFinalized": now,
    }
    for key in OBJECT_WRITABLE:
        if key != "contentType" and metadata.get(key) is not None:
            record[key] = copy.deepcopy(metadata[key])
    world.store.put(OBJECTS, _object_key(bucket["name"], name), record)
    world.store.put_blob(_blob_key(bucket["name"], name), data)
    return record


def patch_object(world: World, record: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    updated = copy.deepcopy(record)
    for key in OBJECT_WRITABLE:
        if key not in body:
            continue
        value = body[key]
        if key == "metadata" and isinstance(value, dict):
            merged = dict(updated.get("metadata") or {})
            merged.update(value)
            updated["metadata"] = {k: v for k, v in merged.items() if v is not None}
        elif value is None:
            updated.pop(key, None)
        else:
            updated[key] = copy.deepcopy(value)
    updated["metageneration"] = str(int(updated["metageneration"]) + 1)
    updated["updated"] = world.now_rfc3339()
    world.store.put(OBJECTS, _object_key(updated["bucket"], updated["name"]), updated)
    return updated


def delete_object(world: World, bucket: str, name: str) -> None:
    world.store.delete(OBJECTS, _object_key(bucket, name))
    world.store.delete_blob(_blob_key(bucket, name))


def render_object(record: dict[str, Any], base_url: str) -> dict[str, Any]:
    bucket, name, generation = record["bucket"], record["name"], record["generation"]
    quoted = quote(name, safe="")
    out: dict[str, Any] = {
        "kind": "storage#object",
        "id": f"{bucket}/{name}/{generation}",
        "selfLink": f"{base_url}/storage/v1/b/{bucket}/o/{quoted}",
        "mediaLink": f"{base_url}/download/storage/v1/b/{bucket}/o/{quoted}"
        f"?generation={generation}&alt=media",
    }
    out.update(copy.deepcopy(record))
    out["etag"] = _etag(int(generation), int(record["metageneration"]))
    return out


_GLOB_WILDCARDS = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
"""`matchGlob` wildcards and their regular expressions, longest first."""


def _glob_class(body: str) -> str:
    """`[...]` (`[!...]` negated) as a regular expression class."""
    return f"[^{body[1:]}]" if body.startswith("!") else f"[{body}]"


def glob_regex(pattern: str) -> re.Pattern[str]:
    """`matchGlob` syntax: `*` (no `/`), `**` (any), `?`, `[...]`, `{a,b}`."""
    out = ""
    i = 0
    depth = 0
    while i < len(pattern):
        wildcard = next((w for w in _GLOB_WILDCARDS if pattern.startswith(w, i)), None)
        if wildcard is not None:
            out += _GLOB_WILDCARDS[wildcard]
            i += len(wildcard)
            continue
        c = pattern[i]
        if c == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                raise error(400, f"Invalid matchGlob: '{pattern}'", "invalid")
            out += _glob_class(pattern[i + 1 : end])
            i = end
        elif c == "{":
            out += "(?:"
            depth += 1
        elif c == "}" and depth:
            out += ")"
            depth -= 1
        elif c == "," and depth:
            out += "|"
        else:
            out += re.escape(c)
        i += 1
    if depth:
        raise error(400, f"Invalid matchGlob: '{pattern}'", "invalid")
    return re.compile(f"^{out}$", re.DOTALL)


def list_objects(
    world: World,
    bucket: str,
    *,
    prefix: str = "",
    delimiter: str = "",
    match_glob: str = "",
    start_offset: str = "",
    end_offset: str = "",
    include_trailing_delimiter: bool = False,
) -> list[tuple[str, dict[str, Any] | None]]:
    """Sorted entries: (object name, record) for items and (prefix, None) for prefixes."""
    glob = glob_regex(match_glob) if match_glob else None
    entries: list[tuple[str, dict[str, Any] | None]] = []
    seen_prefixes: set[str] = set()
    key_prefix = f"{bucket}/"
    for key, record in world.store.items(OBJECTS, key_prefix + prefix):
        name = key[len(key_prefix) :]
        if start_offset and name < start_offset:
            continue
        if end_offset and name >= end_offset:
            continue
        if glob is not None and not glob.match(name):
            continue
        if delimiter:
            cut = name.find(delimiter, len(prefix))
            if cut != -1:
                common = name[: cut + len(delimiter)]
                if common not in seen_prefixes:
                    seen_prefixes.add(common)
                    entries.append((common, None))
                if not (include_trailing_delimiter and name == common):
                    continue
        entries.append((name, record))
    entries.sort(key=lambda entry: (entry[0], entry[1] is not None))
    return entries


# ----- resumable uploads


def start_upload(world: World, bucket: str, name: str, metadata: dict[str, Any], query: Any) -> str:
    upload_id = "ADPyc" + world.ids.hex(40)
    preconditions = {
        key: query.get(key)
        for key in (
            "ifGenerationMatch",
            "ifGenerationNotMatch",
            "ifMetagenerationMatch",
            "ifMetagenerationNotMatch",
        )
        if query.get(key) not in (None, "")
    }
    world.store.put(
        UPLOADS,
        upload_id,
        {
            "bucket": bucket,
            "name": name,
            "metadata": metadata,
            "preconditions": preconditions,
            "size": 0,
        },
    )
    world.store.put_blob(f"upload/{upload_id}", b"")
    return upload_id


def find_upload(world: World, upload_id: str) -> dict[str, Any] | None:
    return world.store.get(UPLOADS, upload_id)


def upload_bytes(world: World, upload_id: str) -> bytes:
    return world.store.get_blob(f"upload/{upload_id}") or b""


def append_upload(world: World, upload_id: str, session: dict[str, Any], data: bytes) -> None:
    world.store.put_blob(f"upload/{upload_id}", upload_bytes(world, upload_id) + data)
    session["size"] = int(session["size"]) + len(data)
    world.store.put(UPLOADS, upload_id, session)


def end_upload(world: World, upload_id: str) -> None:
    world.store.delete(UPLOADS, upload_id)
    world.store.delete_blob(f"upload/{upload_id}")
