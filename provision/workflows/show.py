"""`show`: every object a blueprint manages (one site's, with `site`), whether it exists, and
its live identifiers and outputs (the kinds' `outputs`), from one plan: reads only."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from provision.blueprint.expand import expand
from provision.blueprint.loader import load
from provision.model import Action, Change
from provision.outputs.show_text import ShownObject
from provision.plan import plan_blueprint
from provision.resources import registry
from provision.resources.base import Context
from provision.site_scope import site_addresses
from provision.workflows.ui import Connect, Ui

STATUS = {
    Action.CREATE: "absent",
    Action.UPDATE: "differs",
    Action.RUN: "to run",
    Action.FORGET: "retired",
    Action.DELETE: "retired",
}


def show(
    blueprint: Path, ui: Ui, connect: Connect, *, site: str | None = None
) -> list[ShownObject]:
    """The blueprint's objects in plan order, manual steps aside; tells `ui` the blueprint's
    warnings and records `blueprint`, `site` and `objects`."""
    loaded = load(blueprint)
    ui.warn(loaded.warnings)
    resources = expand(loaded)
    only = None if site is None else site_addresses(loaded, resources, site)
    with connect() as api:
        ctx = Context.create(api)
        plan = plan_blueprint(loaded, ctx, only=only, resources=resources)
        objects = [_shown(ctx, c) for c in plan.changes if c.action is not Action.MANUAL]
    ui.record("blueprint", str(loaded.path))
    ui.record("site", site)
    ui.record("objects", [o.to_json() for o in objects])
    return objects


def _shown(ctx: Context, change: Change) -> ShownObject:
    exists = bool(change.observed_exists)
    status = STATUS.get(change.action, "exists" if exists else "absent")
    kind = registry.get(change.address.kind)
    outputs = kind.outputs(ctx, replace(change, before=change.before if exists else None))
    return ShownObject(
        str(change.address), change.address.kind, change.address.name, exists, status, outputs
    )
