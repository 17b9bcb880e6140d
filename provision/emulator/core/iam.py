"""IAM policies with etags, shared by Resource Manager, Healthcare and Cloud Storage.

The three differ only in a few rules, given by `Flavor`: which error a stale etag gets (409
ABORTED, or 412 on Storage), whether conditions are allowed, and which member forms are valid.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from provision.emulator.core.errors import (
    ApiError,
    aborted_concurrent_policy_change,
    invalid_argument,
)
from provision.emulator.core.ids import policy_etag
from provision.emulator.core.world import POLICIES, World

ROLES = "custom_roles"
"""Store collection of project-level custom roles (`provision.emulator.iam.roles`):
`projects/{projectId}/roles/{roleId}` -> the role as stored."""
CUSTOM_ROLE = re.compile(r"^projects/([^/]+)/roles/([^/]+)$")

MAX_MEMBERS = 1500
BASIC_ROLES = frozenset({"roles/owner", "roles/editor", "roles/viewer"})
MEMBER_PREFIXES = (
    "user:",
    "serviceAccount:",
    "group:",
    "domain:",
    "principal://",
    "principalSet://",
    "deleted:",
)
STORAGE_PREFIXES = ("projectOwner:", "projectEditor:", "projectViewer:")


@dataclass(frozen=True)
class Flavor:
    name: str
    conditions: bool
    """Whether conditional bindings are accepted at all."""
    public_members: bool
    """Whether `allUsers` / `allAuthenticatedUsers` are accepted."""
    storage: bool = False


RESOURCE_MANAGER = Flavor("resourcemanager", conditions=True, public_members=False)
HEALTHCARE = Flavor("healthcare", conditions=False, public_members=True)
STORAGE = Flavor("storage", conditions=True, public_members=True, storage=True)
KMS = Flavor("cloudkms", conditions=True, public_members=True)
PUBSUB = Flavor("pubsub", conditions=False, public_members=True)
"""Whether Pub/Sub topics take conditional bindings is not documented; here they do not."""


PENDING_GRANTS = "pending_grants"
"""Grants Google makes on its own at a later time (a service agent's role), keyed by resource."""


def _record(world: World, resource: str) -> dict[str, Any]:
    _apply_due_grants(world, resource)
    return world.store.get(POLICIES, resource) or {"bindings": [], "revision": 1}


def schedule_grant(world: World, resource: str, role: str, member: str, *, at: float) -> None:
    """Add `member` to `role` on `resource` at time `at` without validation, as Google does when
    it creates a service agent. Applied when the policy is next read or written at or after `at`.
    """
    pending = world.store.get(PENDING_GRANTS, resource) or {"grants": []}
    pending["grants"].append({"role": role, "member": member, "at": at})
    world.store.put(PENDING_GRANTS, resource, pending)
    _apply_due_grants(world, resource)


def _apply_due_grants(world: World, resource: str) -> None:
    pending = world.store.get(PENDING_GRANTS, resource)
    if pending is None:
        return
    now = world.now()
    due = [grant for grant in pending["grants"] if float(grant["at"]) <= now]
    if not due:
        return
    later = [grant for grant in pending["grants"] if float(grant["at"]) > now]
    if later:
        world.store.put(PENDING_GRANTS, resource, {"grants": later})
    else:
        world.store.delete(PENDING_GRANTS, resource)
    record = world.store.get(POLICIES, resource) or {"bindings": [], "revision": 1}
    bindings: list[dict[str, Any]] = copy.deepcopy(record.get("bindings") or [])
    granted_at = dict(record.get("grantedAt") or {})
    for grant in due:
        role, member = grant["role"], grant["member"]
        binding = next(
            (b for b in bindings if b.get("role") == role and "condition" not in b), None
        )
        if binding is None:
            binding = {"role": role, "members": []}
            bindings.append(binding)
        if member not in binding["members"]:
            binding["members"].append(member)
            granted_at.setdefault(f"{role} {member}", float(grant["at"]))
    record["bindings"] = bindings
    record["grantedAt"] = granted_at
    record["revision"] = int(record["revision"]) + 1
    world.store.put(POLICIES, resource, record)


def rename_member(world: World, old: str, new: str) -> None:
    """Replace `old` by `new` in every stored policy (e.g. `deleted:serviceAccount:...?uid=`)."""
    for resource, record in world.store.items(POLICIES):
        changed = False
        for binding in record.get("bindings") or []:
            members = binding.get("members") or []
            if old in members:
                binding["members"] = [new if member == old else member for member in members]
                changed = True
        if changed:
            record["revision"] = int(record["revision"]) + 1
            world.store.put(POLICIES, resource, record)


def has_conditions(bindings: list[dict[str, Any]]) -> bool:
    return any("condition" in binding for binding in bindings)


def get_policy(world: World, resource: str, requested_version: int = 0) -> dict[str, Any]:
    """The policy as getIamPolicy returns it (without Storage's `kind`/`resourceId`)."""
    if requested_version not in (0, 1, 3):
        raise ApiError(
            "INVALID_ARGUMENT", f"Invalid requested policy version: {requested_version}."
        )
    record = _record(world, resource)
    return _render(record)


def _render(record: dict[str, Any]) -> dict[str, Any]:
    """The policy as Google shows it. It shares `bindings` and `auditConfigs` with `record`, which
    must be the caller's own copy (as every `Store.get` returns) and not be changed afterwards."""
    policy: dict[str, Any] = {}
    bindings = record.get("bindings") or []
    if bindings or record.get("written"):
        # A policy never set is only its etag; once set, even to nothing, it has a version
        # (golden iam__iampartialpolicy__resources__{project,kmscryptokey,pubsubtopic}).
        policy["version"] = 3 if has_conditions(bindings) else 1
    if bindings:
        policy["bindings"] = bindings
    if record.get("auditConfigs"):
        policy["auditConfigs"] = record["auditConfigs"]
    policy["etag"] = policy_etag(int(record["revision"]))
    return policy


def set_policy(
    world: World,
    resource: str,
    policy: dict[str, Any],
    flavor: Flavor,
    *,
    update_mask: str | None = None,
    uniform_access: bool = True,
) -> dict[str, Any]:
    """Validate and store `policy`; returns the stored policy with its new etag."""
    record = _record(world, resource)
    current_etag = policy_etag(int(record["revision"]))
    sent_etag = policy.get("etag")
    if sent_etag and sent_etag != current_etag:
        if flavor.storage:
            raise ApiError(
                "FAILED_PRECONDITION",
                "Precondition Failed",
                http=412,
                legacy_reason="conditionNotMet",
            )
        raise aborted_concurrent_policy_change()
    bindings = policy.get("bindings") or []
    _validate_bindings(world, bindings, policy.get("version"), flavor, uniform_access)
    mask = {part.strip() for part in (update_mask or "bindings,etag").split(",")}
    new_record = {
        "bindings": record.get("bindings", []),
        "revision": int(record["revision"]) + 1,
        "written": True,
    }
    if "auditConfigs" in record:
        new_record["auditConfigs"] = record["auditConfigs"]
    if "bindings" in mask:
        new_record["bindings"] = copy.deepcopy(bindings)
    new_record["grantedAt"] = _grant_times(world, record, new_record["bindings"])
    if "auditConfigs" in mask or "audit_configs" in mask:
        new_record["auditConfigs"] = audit_configs(policy.get("auditConfigs"))
    world.store.put(POLICIES, resource, new_record)
    return _render(new_record)


LOG_TYPES: dict[str, int] = {
    "LOG_TYPE_UNSPECIFIED": 0,
    "ADMIN_READ": 1,
    "DATA_WRITE": 2,
    "DATA_READ": 3,
}
"""google.iam.v1.AuditLogConfig.LogType's proto numbers (not the order of the discovery enum).
Clients of the REST API send either form (proto3 JSON); they are stored by name."""


def audit_configs(configs: Any) -> list[dict[str, Any]]:
    """A policy's `auditConfigs` as stored: log types by name. A config without a service or
    log configs, or an unspecified or unknown log type, is a 400; Google's texts for these are
    not recorded anywhere we know of."""
    if configs is None:
        return []
    if not isinstance(configs, list):
        raise invalid_argument("Invalid value at 'policy.audit_configs'.")
    stored: list[dict[str, Any]] = []
    for config in configs:
        service = config.get("service") if isinstance(config, dict) else None
        logs = config.get("auditLogConfigs") if isinstance(config, dict) else None
        if not isinstance(service, str) or not service or not isinstance(logs, list) or not logs:
            raise invalid_argument("An audit config needs a service and audit log configs.")
        entries = []
        for log in logs:
            if not isinstance(log, dict):
                raise invalid_argument("Invalid value at 'policy.audit_configs.audit_log_configs'.")
            entry = {**copy.deepcopy(log), "logType": _log_type(log.get("logType"))}
            entries.append(entry)
        stored.append({"service": service, "auditLogConfigs": entries})
    return stored


def _log_type(value: Any) -> str:
    name = next((n for n, number in LOG_TYPES.items() if number == value), None)
    if isinstance(value, str) and value in LOG_TYPES:
        name = value
    if name is None or isinstance(value, bool):
        raise invalid_argument(
            "Invalid value at 'policy.audit_configs.audit_log_configs.log_type' (TYPE_ENUM), "
            f"{value!r}"
        )
    if name == "LOG_TYPE_UNSPECIFIED":
        raise invalid_argument("An audit log config needs a log type.")
    return name


def with_enum_encoding(policy: dict[str, Any], numeric: bool) -> dict[str, Any]:
    """`policy` as answered to a client asking for `$alt=json;enum-encoding=int` (numeric):
    audit log types as their proto numbers; otherwise unchanged (names)."""
    if not numeric or not policy.get("auditConfigs"):
        return policy
    configs = [
        {
            **config,
            "auditLogConfigs": [
                {**log, "logType": LOG_TYPES.get(log.get("logType"), log.get("logType"))}
                for log in config.get("auditLogConfigs") or []
            ],
        }
        for config in policy["auditConfigs"]
    ]
    return {**policy, "auditConfigs": configs}


def _grant_times(
    world: World, record: dict[str, Any], bindings: list[dict[str, Any]]
) -> dict[str, float]:
    """When each (role, member) was first granted; drives the IAM effect delay."""
    before = dict(record.get("grantedAt") or {})
    now = world.now()
    times: dict[str, float] = {}
    for binding in bindings:
        for member in binding.get("members", []):
            key = f"{binding['role']} {member}"
            times[key] = float(before.get(key, now))
    return times


def set_bindings_directly(world: World, resource: str, bindings: list[dict[str, Any]]) -> None:
    """Store bindings with no validation (used when Google itself grants a role)."""
    record = _record(world, resource)
    record["bindings"] = bindings
    record["grantedAt"] = _grant_times(world, record, bindings)
    record["revision"] = int(record["revision"]) + 1
    world.store.put(POLICIES, resource, record)


def delete_policy(world: World, resource: str) -> None:
    world.store.delete(POLICIES, resource)


def _validate_bindings(
    world: World,
    bindings: list[dict[str, Any]],
    version: Any,
    flavor: Flavor,
    uniform_access: bool,
) -> None:
    if version not in (None, 0, 1, 3):
        raise ApiError("INVALID_ARGUMENT", f"Invalid policy version: {version}.")
    total = 0
    for binding in bindings:
        role = binding.get("role")
        members = binding.get("members") or []
        if not isinstance(role, str) or not role:
            raise ApiError("INVALID_ARGUMENT", "Policy binding is missing a role.")
        if not members:
            raise ApiError(
                "INVALID_ARGUMENT", f"Policy binding for role {role} must contain a member."
            )
        if not (role.startswith("roles/") or "/roles/" in role):
            raise ApiError("INVALID_ARGUMENT", f"Role {role} is not supported for this resource.")
        if not role_exists(world, role):
            raise ApiError(
                "INVALID_ARGUMENT", f"Role ({role}) does not exist in the resource's hierarchy."
            )
        total += len(members)
        if "condition" in binding:
            _validate_condition(role, version, flavor, uniform_access)
        for member in members:
            _validate_member(world, member, flavor)
    if total > MAX_MEMBERS:
        raise ApiError(
            "INVALID_ARGUMENT",
            f"The number of members in the policy ({total:,}) is larger than the maximum "
            f"allowed size {MAX_MEMBERS:,}.",
        )


def _validate_condition(role: str, version: Any, flavor: Flavor, uniform_access: bool) -> None:
    if not flavor.conditions:
        raise ApiError(
            "INVALID_ARGUMENT", "Conditions are not supported on this resource's IAM policy."
        )
    if flavor.storage and not uniform_access:
        raise ApiError(
            "FAILED_PRECONDITION",
            "IAM conditions require uniform bucket-level access: enable uniform bucket-level "
            "access on the bucket first.",
            http=412,
            legacy_reason="conditionNotMet",
        )
    if version != 3:
        minimum = "at least 3" if flavor.storage else "3"
        raise ApiError(
            "INVALID_ARGUMENT",
            f"The policy version must be {minimum} to set a policy with conditions.",
            legacy_reason="invalid" if flavor.storage else "badRequest",
        )
    if role in BASIC_ROLES:
        raise ApiError("INVALID_ARGUMENT", f"Conditions are not supported for basic role {role}.")


def _validate_member(world: World, member: Any, flavor: Flavor) -> None:
    reason = "invalid" if flavor.storage else "badRequest"
    if not isinstance(member, str) or not member:
        raise ApiError("INVALID_ARGUMENT", "Invalid member.", legacy_reason=reason)
    if member in ("allUsers", "allAuthenticatedUsers"):
        if not flavor.public_members:
            raise ApiError(
                "INVALID_ARGUMENT",
                f"Member {member} is not allowed on this resource's IAM policy.",
                legacy_reason=reason,
            )
        return
    prefixes = MEMBER_PREFIXES + (STORAGE_PREFIXES if flavor.storage else ())
    if not member.startswith(prefixes):
        raise ApiError("INVALID_ARGUMENT", f"Invalid member: {member}.", legacy_reason=reason)
    if member.startswith("serviceAccount:"):
        email = member.removeprefix("serviceAccount:")
        if email.endswith(".gserviceaccount.com") and world.service_account(email) is None:
            raise ApiError(
                "INVALID_ARGUMENT",
                f"Service account {email} does not exist.",
                legacy_reason=reason,
            )


def member_holds_any(
    world: World, resources: tuple[str, ...], member: str, roles: frozenset[str]
) -> bool:
    """True when `member` holds one of `roles` on one of `resources` (a resource and the ones
    it inherits from), in effect."""
    return any(member_holds(world, r, member, role) for r in resources for role in roles)


def requested_version(raw: str | None) -> int:
    """`options.requestedPolicyVersion` of a GET getIamPolicy (absent: 0)."""
    try:
        return int(raw or "0")
    except ValueError:
        raise invalid_argument(f"Invalid requested policy version: {raw}") from None


def set_policy_request(
    world: World, resource: str, body: dict[str, Any], flavor: Flavor
) -> dict[str, Any]:
    """A `setIamPolicy` request body (`{policy, updateMask}`) applied to `resource`."""
    policy = body.get("policy")
    if not isinstance(policy, dict):
        raise invalid_argument("policy is required.")
    return set_policy(world, resource, policy, flavor, update_mask=body.get("updateMask"))


def tested_permissions(world: World, body: dict[str, Any]) -> dict[str, Any]:
    """A `testIamPermissions` answer: the asked permissions minus `denied_permissions`."""
    permissions = body.get("permissions") or []
    if not isinstance(permissions, list) or not all(isinstance(p, str) for p in permissions):
        raise invalid_argument("permissions must be a list of strings")
    denied = set(world.settings.denied_permissions)
    held = [permission for permission in permissions if permission not in denied]
    return {"permissions": held} if held else {}


def member_holds(world: World, resource: str, member: str, role: str) -> bool:
    """True when `member` holds `role` on `resource` and the grant has taken effect."""
    _apply_due_grants(world, resource)
    record = world.store.get(POLICIES, resource)
    if record is None:
        return False
    for binding in record.get("bindings", []):
        if binding.get("role") == role and member in binding.get("members", []):
            granted_at = float(record.get("grantedAt", {}).get(f"{role} {member}", 0.0))
            return world.now() >= granted_at + world.settings.iam_effect_delay_s
    return False


def role_exists(world: World, role: str) -> bool:
    """Whether a project-level custom role named in a policy exists (and is not deleted);
    other roles (predefined, organization-level) are not modelled and count as existing."""
    if CUSTOM_ROLE.match(role) is None:
        return True
    found = world.store.get(ROLES, role)
    return found is not None and not found.get("deleted")
