"""The reading commands' runs: `plan`, `verify`, `validate --check-permissions`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from provision import planfile
from provision.blueprint.expand import expand
from provision.blueprint.loader import LoadedBlueprint, load
from provision.files import check_writable
from provision.model import Plan
from provision.permissions import Result, check, requirements
from provision.plan import plan_blueprint
from provision.resources.base import Context
from provision.site_scope import site_addresses
from provision.verify import Check, verify_blueprint
from provision.workflows.sequence import Flags
from provision.workflows.ui import Connect


def plan(
    blueprint: Path,
    flags: Flags,
    connect: Connect,
    *,
    site: str | None = None,
    out: Path | None = None,
) -> Plan:
    """The plan of the blueprint (of one site's objects and what they depend on, with `site`,
    which the plan records); saved to `out` for `apply` when given (checked writable before
    anything is read)."""
    loaded = load(blueprint)
    if out is not None:
        check_writable(out, loaded.files, what="plan file")
    resources = expand(loaded)
    only = None if site is None else site_addresses(loaded, resources, site)
    with connect() as api:
        ctx = Context.create(api, flags.options(api))
        result = plan_blueprint(loaded, ctx, only=only, resources=resources)
    result = replace(result, site=site)
    if out is not None:
        planfile.write(result, out, loaded.files)
    return result


def verify(blueprint: Path, connect: Connect) -> list[Check]:
    """Every check `provision.verify` makes for the blueprint (reads only)."""
    loaded = load(blueprint)
    with connect() as api:
        return verify_blueprint(loaded, Context.create(api))


@dataclass(frozen=True)
class Permissions:
    """Whether `who` holds what apply needs, on `target`."""

    who: str
    target: str
    results: list[Result]

    @property
    def missing(self) -> list[Result]:
        return [r for r in self.results if r.held is False]

    @property
    def grant(self) -> list[str]:
        """The least-privilege roles that hold the missing permissions."""
        return sorted({r.requirement.role for r in self.missing})


def check_permissions(loaded: LoadedBlueprint, connect: Connect) -> Permissions:
    """Ask Google (testIamPermissions) whether the applying identity holds every permission
    apply needs for `loaded`; writes nothing."""
    with connect() as api:
        results = check(api, requirements(loaded, api))
        who = api.identity.member or "the applying identity"
        return Permissions(who, api.target.describe(), results)
