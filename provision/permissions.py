"""`validate --check-permissions`: does the applying identity hold what apply will need?

Each kind says what managing one of its objects needs (`Kind.needs`: the permissions, and the
least-privilege role that grants them; README "Least privilege") and where that is tested
(`Kind.checked_on`). `requirements` turns a blueprint into checks, each on that object when it
exists, else where it would be created, nearest first (`Kind.created_in`: a store's dataset,
the project, the project's organization or folder): that is where a create is authorised.
`check` asks Google with `testIamPermissions` on each of those resources (one call per
resource, through the kind the resource belongs to) and answers, per permission, held or
missing. Nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from provision.blueprint.expand import expand
from provision.errors import GoogleApiError
from provision.model import Address, Resource
from provision.resources import addresses, registry
from provision.resources.base import Context, Needs

if TYPE_CHECKING:
    from provision.blueprint.loader import LoadedBlueprint
    from provision.blueprint.schema import Blueprint
    from provision.gcp.api import GoogleApi

LEASE = "lease"
LEASE_NEEDS = Needs(
    "roles/storage.objectUser (on the lease bucket)",
    ("storage.objects.list", "storage.objects.create", "storage.objects.update"),
)
"""The single-writer lease (`provision.lease`): objects in its bucket, once that exists."""


@dataclass(frozen=True)
class Requirement:
    """`permissions` needed for `kind` `target`, tested on `resource` through the kind
    `tested_by` (`why` says why there; no `resource`: nowhere to test them)."""

    kind: str
    target: str
    resource: str
    permissions: tuple[str, ...]
    why: str = ""
    role: str = ""
    """The least-privilege role that grants them."""
    tested_by: str = ""


@dataclass(frozen=True)
class Result:
    requirement: Requirement
    permission: str
    held: bool | None
    """None when it could not be checked (`note` says why)."""
    note: str = ""


# -- where each requirement is tested (pure) -----------------------------------------------


def place(
    resource: Resource,
    declared: Mapping[Address, Resource],
    exists: Callable[[Address], bool],
) -> Requirement | None:
    """Where `resource`'s needs are tested: on the object its kind names when that exists,
    else where that would be created, and so on up (`declared` holds those objects)."""
    kind = registry.get(resource.address.kind)
    needs = kind.needs
    if needs is None:
        return None
    where: Address | str | None = kind.checked_on(resource)
    tested_by, permissions, missing = kind.name, needs.existing, ""
    while isinstance(where, Address):
        holder = registry.get(where.kind)
        tested_by = holder.name
        if exists(where):
            break
        permissions, missing = needs.before_create, holder.noun
        where = holder.created_in(declared[where])
    about = resource.address.name
    if where is None:
        why = f"the {missing} does not exist and has no parent"
        return Requirement(kind.name, about, "", permissions, why, needs.role)
    name = where.name if isinstance(where, Address) else where
    why = f"the {missing} does not exist yet" if missing else ""
    return Requirement(kind.name, about, name, permissions, why, needs.role, tested_by)


def lease_requirement(
    blueprint: Blueprint, exists: Callable[[Address], bool]
) -> Requirement | None:
    """The lease's objects, tested on its bucket once the bucket exists."""
    declared = [b.name for b in blueprint.buckets]
    bucket = blueprint.lease.bucket or (declared[0] if declared else None)
    if bucket is None:
        return None
    address = addresses.bucket(bucket)
    if not exists(address):
        return None
    needs = LEASE_NEEDS
    return Requirement(
        LEASE, address.name, address.name, needs.existing, "", needs.role, address.kind
    )


# -- asking Google --------------------------------------------------------------------------


def existence(ctx: Context, declared: Mapping[Address, Resource]) -> Callable[[Address], bool]:
    """`exists(address)`, each object read at most once; an object whose container does not
    exist does not exist either (and is not read)."""
    seen: dict[Address, bool] = {}

    def exists(address: Address) -> bool:
        if address not in seen:
            kind = registry.get(address.kind)
            resource = declared.get(address)
            container = kind.created_in(resource) if resource is not None else None
            inside = exists(container) if isinstance(container, Address) else True
            seen[address] = inside and kind.visible(ctx, address)
        return seen[address]

    return exists


def requirements(loaded: LoadedBlueprint, api: GoogleApi) -> list[Requirement]:
    """Every check the blueprint calls for, each on the object or where it would be created."""
    ctx = Context.create(api)
    resources = expand(loaded)
    declared = {r.address: r for r in resources}
    exists = existence(ctx, declared)
    found = [place(resource, declared, exists) for resource in resources]
    found.append(lease_requirement(loaded.blueprint, exists))
    return [requirement for requirement in found if requirement is not None]


def check(api: GoogleApi, needed: Sequence[Requirement]) -> list[Result]:
    """One testIamPermissions per resource; a Result per requirement and permission."""
    ctx = Context.create(api)
    asked: dict[tuple[str, str], list[str]] = {}
    for requirement in needed:
        if requirement.resource:
            permissions = asked.setdefault((requirement.tested_by, requirement.resource), [])
            permissions += [p for p in requirement.permissions if p not in permissions]
    held: dict[str, set[str]] = {}
    failures: dict[str, str] = {}
    for (kind, resource), permissions in asked.items():
        try:
            held[resource] = registry.get(kind).test_permissions(ctx, resource, permissions)
        except GoogleApiError as error:
            failures[resource] = f"cannot test: {error.http_status} {error.message}"
    return [result(r, p, held, failures) for r in needed for p in r.permissions]


def result(
    requirement: Requirement,
    permission: str,
    held: Mapping[str, set[str]],
    failures: Mapping[str, str],
) -> Result:
    """Whether `permission` of `requirement` is held, given what each resource answered."""
    if not requirement.resource:
        return Result(requirement, permission, None, requirement.why)
    if requirement.resource in failures:
        return Result(requirement, permission, False, failures[requirement.resource])
    ok = permission in held[requirement.resource]
    return Result(requirement, permission, ok, requirement.why)
