"""Applying a saved plan: it freezes a reviewed decision, never what is written.

A plan file is data anyone could have edited, so `apply PLANFILE` uses it only for comparison:

* `saved_blueprint(plan)`: its blueprint must be found, readable and unchanged (same digest);
* `check_scope(plan, loaded)`: every change must be one the blueprint declares, and a `delete` or
  `forget` only of an object it does not declare (found under one it does), in its project;
* `replanned(plan, loaded, ctx)`: the blueprint (the plan's site of it, for `plan --site`) is
  planned again against the live state, and that plan is the one shown and applied, provided
  each of its changes makes the saved decision (`decision`: action, `after`, field changes,
  reason, dependencies, whether the object was read, and what an object to delete holds) and
  both plans cover the same addresses. Otherwise nothing is written: `SavedPlanError` when the
  saved change does not follow from the blueprint and the state it recorded (the file was
  edited, or the plan was made with other options), `StalePlanError` when the state changed.

So what is shown is what is applied, and that is what the blueprint and a fresh read give; a
saved `before`, `etag` or `after` is never written.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from provision.blueprint.expand import expand
from provision.blueprint.loader import LoadedBlueprint, load
from provision.blueprint.oauth import manual_changes
from provision.errors import ProvisionError, StalePlanError
from provision.files import shown
from provision.model import JSON, Action, Address, Change, Plan, Resource
from provision.plan import plan_blueprint
from provision.resources import addresses
from provision.resources.base import HOLDS, Context
from provision.site_scope import site_addresses

ORPHAN_ACTIONS = (Action.DELETE, Action.FORGET)
BUCKETS = addresses.bucket_name("")
SHOWN_VALUE = 160
"""Characters of a value a refusal quotes."""


class SavedPlanError(ProvisionError):
    """A saved plan that cannot be applied as it is; nothing was changed."""


def saved_blueprint(plan: Plan) -> LoadedBlueprint:
    """The blueprint the plan was made from; refused when missing, unreadable or changed."""
    path = Path(plan.blueprint_path)
    if not path.is_file():
        raise SavedPlanError(
            f"the blueprint of this plan, {shown(path)}, cannot be found (nothing was changed); "
            "apply the plan where its blueprint is, or make the plan again"
        )
    try:
        loaded = load(path)
    except ProvisionError as error:
        first = str(error).splitlines()[-1].strip()
        raise SavedPlanError(
            f"the blueprint of this plan, {shown(path)}, cannot be used ({first}); "
            "nothing was changed"
        ) from None
    if loaded.digest != plan.blueprint_digest:
        raise StalePlanError(
            f"the saved plan is stale: blueprint {shown(path)} changed since the plan was made; "
            "nothing was changed. Run `provision plan` again."
        )
    return loaded


def check_scope(
    plan: Plan, loaded: LoadedBlueprint, resources: Sequence[Resource] | None = None
) -> None:
    """Refuse a change the blueprint does not declare, outside its project, or a `delete` /
    `forget` of an object it declares (`resources`: the blueprint expanded, else expanded
    here)."""
    project = loaded.blueprint.project.id
    declared = declared_addresses(loaded, resources)
    for change in plan.changes:
        orphan = change.action in ORPHAN_ACTIONS
        if orphan and change.address in declared:
            raise SavedPlanError(
                f"the saved plan would {change.action.value} {change.address}, which blueprint "
                f"{shown(loaded.path)} declares (only objects it no longer declares are deleted "
                "or forgotten); nothing was changed. Make the plan again."
            )
        parent = change.depends_on[0] if len(change.depends_on) == 1 else None
        if change.address in declared or (
            orphan and parent in declared and _in_project(change.address, project)
        ):
            continue
        raise SavedPlanError(
            f"the saved plan changes {change.address}, which blueprint {shown(loaded.path)} "
            f"(project {project}) does not declare; nothing was changed. Make the plan again."
        )


def declared_addresses(
    loaded: LoadedBlueprint, resources: Sequence[Resource] | None = None
) -> set[Address]:
    """Every address the blueprint declares (`resources`, else `expand(loaded)`), its manual
    steps included."""
    declared = {r.address for r in (expand(loaded) if resources is None else resources)}
    return declared | {c.address for c in manual_changes(loaded.blueprint)}


def _in_project(address: Address, project: str) -> bool:
    name = address.name
    own = addresses.project_name(project)
    return name == own or name.startswith(own + "/") or name.startswith(BUCKETS)


def replanned(
    saved: Plan,
    loaded: LoadedBlueprint,
    ctx: Context,
    resources: Sequence[Resource] | None = None,
) -> Plan:
    """The plan of `loaded` (of `saved.site` only, when set) against the live state, when it
    makes exactly the saved decisions (see module doc); raises SavedPlanError or
    StalePlanError naming the address and field otherwise. `resources`: the blueprint
    expanded, else expanded here."""
    if resources is None:
        resources = expand(loaded)
    only = site_addresses(loaded, resources, saved.site) if saved.site else None
    fresh = plan_blueprint(loaded, ctx, only=only, resources=resources)
    check_same(saved, fresh)
    return replace(fresh, site=saved.site)


def check_same(saved: Plan, fresh: Plan) -> None:
    """Raise unless `fresh` makes each decision of `saved` and no other: SavedPlanError for
    the first change the file cannot have been planned with, else StalePlanError listing what
    changed since the plan."""
    saved_changes = {c.address: c for c in saved.changes}
    fresh_changes = {c.address: c for c in fresh.changes}
    stale: list[str] = []
    for address in [*saved_changes, *(a for a in fresh_changes if a not in saved_changes)]:
        found = _compare(saved_changes.get(address), fresh_changes.get(address))
        if found is None:
            continue
        problem, edited = found
        if edited:
            raise SavedPlanError(
                f"the saved plan does not hold together at {address}: {problem}; the plan file "
                "was edited or damaged, or made with options (such as --allow-disable-service) "
                "that this apply was not given. Nothing was changed; make the plan again."
            )
        stale.append(f"{address}: {problem}")
    if stale:
        lines = "\n".join(f"  - {p}" for p in stale)
        raise StalePlanError(
            "the saved plan is stale: a plan made now differs from it; nothing was changed. "
            "Run `provision plan` again.\n" + lines
        )


def decision(change: Change) -> JSON:
    """What applying `change` was agreed to, as plain JSON: everything but what was read
    (`before`, `etag`), which apply takes from the fresh read; of `before`, only what an
    object to delete holds (`HOLDS`)."""
    plain: JSON = _plain(
        {
            "diffs": {d.path: {"before": d.before, "after": d.after} for d in change.diffs},
            "after": change.after,
            "action": change.action.value,
            "reason": change.reason,
            f"before.{HOLDS}": (change.before or {}).get(HOLDS),
            "depends_on": [str(a) for a in change.depends_on],
            "observed_exists": change.observed_exists,
        }
    )
    return plain


def _compare(saved: Change | None, fresh: Change | None) -> tuple[str, bool] | None:
    """How the two changes of one address differ (one may be missing), and whether that
    cannot come from the live state (`edited`): the object reads as the saved plan recorded it,
    or a change of an object the blueprint declares is missing. None when they agree."""
    if saved is None or fresh is None:
        present = saved or fresh
        if present is None:
            return None
        where = "the saved plan" if saved else "a plan made now"
        other = "a plan made now" if saved else "the saved plan"
        text = f"{where} has it ({present.action.value}), {other} does not"
        return text, present.action not in ORPHAN_ACTIONS
    found = _first_difference(decision(saved), decision(fresh), "")
    if found is None:
        return None
    return _describe(*found), bool(_plain(saved.before) == _plain(fresh.before))


def _describe(field: str, saved: Any, fresh: Any) -> str:
    """E.g. `after.name is "x" in the saved plan but "y" now`; for lists, the items that
    differ."""
    if isinstance(saved, list) and isinstance(fresh, list):
        parts = [f"{_shown(x)} only in the saved plan" for x in saved if x not in fresh]
        parts += [f"{_shown(x)} only in a plan made now" for x in fresh if x not in saved]
        if parts:
            return f"{field} has {', '.join(parts)}"
    return f"{field} is {_shown(saved)} in the saved plan but {_shown(fresh)} now"


_ABSENT = object()


def _first_difference(one: Any, other: Any, path: str) -> tuple[str, Any, Any] | None:
    """The dotted path (`after.name`, `diffs.labels.env`) and both values of the first value
    that differs, or None."""
    if one == other:
        return None
    if isinstance(one, dict) and isinstance(other, dict):
        for key in [*one, *(k for k in other if k not in one)]:
            inner = f"{path}.{key}" if path else key
            found = _first_difference(one.get(key, _ABSENT), other.get(key, _ABSENT), inner)
            if found is not None:
                return found
    return path, one, other


def _shown(value: Any) -> str:
    if value is _ABSENT:
        return "absent"
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= SHOWN_VALUE else text[: SHOWN_VALUE - 3] + "..."


def _plain(value: Any) -> Any:
    """`value` as JSON would read it back (tuples become lists, other values their text)."""
    return json.loads(json.dumps(value, default=str))
