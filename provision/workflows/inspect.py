"""The reading commands' runs: `validate` (and its `--check-permissions`), `plan`, `verify`."""

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
from provision.verify import verify_blueprint
from provision.workflows.sequence import Flags
from provision.workflows.ui import Connect, Ui


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


def verify(blueprint: Path, ui: Ui, connect: Connect, *, site: str | None = None) -> bool:
    """Every check `provision.verify` makes for the blueprint (for `site`'s objects and what
    they depend on, with `site`; reads only), shown on `ui`; True when all pass."""
    loaded = load(blueprint)
    ui.warn(loaded.warnings)
    resources = expand(loaded)
    only = None if site is None else site_addresses(loaded, resources, site)
    with connect() as api:
        checks = verify_blueprint(loaded, Context.create(api), only=only, resources=resources)
    ui.show_checks(checks)
    return all(check.ok for check in checks)


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

    def to_json(self) -> dict[str, object]:
        """`who`, `target`, `missing` (count), `grant` and one entry per permission tested."""
        return {
            "who": self.who,
            "target": self.target,
            "missing": len(self.missing),
            "grant": self.grant,
            "results": [
                {
                    "kind": r.requirement.kind,
                    "object": r.requirement.target,
                    "resource": r.requirement.resource,
                    "permission": r.permission,
                    "role": r.requirement.role,
                    "held": r.held,
                    "note": r.note,
                }
                for r in self.results
            ],
        }


def check_permissions(loaded: LoadedBlueprint, connect: Connect) -> Permissions:
    """Ask Google (testIamPermissions) whether the applying identity holds every permission
    apply needs for `loaded`; writes nothing."""
    with connect() as api:
        results = check(api, requirements(loaded, api))
        who = api.identity.member or "the applying identity"
        return Permissions(who, api.target.describe(), results)
