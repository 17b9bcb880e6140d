"""Making a saved plan fit to apply, before anything is shown or written.

A plan file is data anyone could have edited, so `apply PLANFILE` trusts none of it blindly:

* `saved_blueprint(plan)`: its blueprint must be found, readable and unchanged (same digest);
* `check_scope(plan, loaded)`: every change must be one the blueprint declares, or an object
  found under one of them (a `forget` / `delete`), inside the blueprint's project;
* `derived(plan, options)`: each change is re-derived by its kind from its own saved `before`
  and `after` under this apply's options; a change whose action or field changes do not follow
  is refused, and one saved as "not read" (`observed_exists: null`) must have a reason not to
  be read (something it depends on is being created, or its API enabled).

After these, the text shown is exactly what the `after` written does, relative to the `before`
it was planned from; the re-check under the lease (`apply.check_fresh`) then compares with the
live state.
"""

from __future__ import annotations

from pathlib import Path

from provision.apply import same_diffs
from provision.blueprint.loader import LoadedBlueprint, load
from provision.blueprint.oauth import manual_changes
from provision.errors import ProvisionError, StalePlanError
from provision.files import shown
from provision.model import Action, Address, Change, Observed, Plan
from provision.resources import registry
from provision.resources.base import Kind, Options, resource_of

ORPHAN_ACTIONS = (Action.DELETE, Action.FORGET)
BUCKETS = "projects/_/buckets/"


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


def check_scope(plan: Plan, loaded: LoadedBlueprint) -> None:
    """Refuse a change the blueprint does not declare, or outside its project."""
    from provision.blueprint.expand import expand

    project = loaded.blueprint.project.id
    declared = {r.address for r in expand(loaded)}
    declared |= {c.address for c in manual_changes(loaded.blueprint)}
    for change in plan.changes:
        if change.action in ORPHAN_ACTIONS:
            parent = change.depends_on[0] if change.depends_on else None
            inside = _in_project(change.address, project)
            if parent in declared and inside and len(change.depends_on) == 1:
                continue
        elif change.address in declared:
            continue
        raise SavedPlanError(
            f"the saved plan changes {change.address}, which blueprint {shown(loaded.path)} "
            f"(project {project}) does not declare; nothing was changed. Make the plan again."
        )


def _in_project(address: Address, project: str) -> bool:
    name = address.name
    own = f"projects/{project}"
    return name == own or name.startswith(own + "/") or name.startswith(BUCKETS)


def derived(plan: Plan, options: Options) -> Plan:
    """`plan` with each change checked against what its kind derives from its saved before and
    after (see module doc); SavedPlanError names the first change that does not follow."""
    changes = {c.address: c for c in plan.changes}
    for change in plan.changes:
        if change.action in (Action.NOOP, Action.MANUAL, Action.FORGET):
            continue  # nothing is written for these
        if change.action is Action.DELETE:
            if change.after is not None:
                raise _edited(change, "a delete carries an `after`")
            continue
        try:
            kind = registry.get(change.address.kind)
        except KeyError:
            raise _edited(change, f"there is no kind {change.address.kind!r}") from None
        if change.after is None:
            raise _edited(change, "it has no `after`")
        if change.observed_exists is None:
            _check_unread(change, kind, changes)
            observed = Observed.absent()
        else:
            observed = Observed(change.observed_exists, dict(change.before or {}), change.etag)
        fresh = kind.diff(resource_of(change), observed, options)
        if fresh.action is not change.action or not same_diffs(fresh, change):
            raise _edited(
                change,
                f"its saved before and after make it {fresh.action.value} with other field "
                "changes than the ones saved",
                options_hint=True,
            )
    return plan


def _check_unread(change: Change, kind: Kind, changes: dict[Address, Change]) -> None:
    """A change planned without reading needs a dependency that prevented the read."""
    from provision.plan import waits_for

    for dep in change.depends_on:
        if kind.reads_after(change.address, dep) and waits_for(kind, changes[dep]):
            return
    raise _edited(
        change,
        "it is saved as not read (observed_exists: null) but nothing it depends on is being "
        "created or enabled",
    )


def _edited(change: Change, why: str, *, options_hint: bool = False) -> SavedPlanError:
    hint = (
        " (or the plan was made with options, such as --allow-disable-service, that this apply "
        "was not given)"
        if options_hint
        else ""
    )
    return SavedPlanError(
        f"the saved plan does not hold together at {change.address}: {why}; the plan file was "
        f"edited or damaged{hint}. Nothing was changed; make the plan again."
    )
