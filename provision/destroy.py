"""Planning `provision destroy`: what of a blueprint (or of one site) may be removed, and how.

Reads only; returns a `Plan` that the ordinary applier executes (`apply_plan`, with the returned
`allowed` addresses as `Options.allow_delete`). Each kind decides about its own objects
(`Kind.removal_read`, `Kind.plan_removal`; kinds that are not `removable`, such as billing
links, service agents and imports, are left alone), and its `delete` re-reads what the object
holds right before deleting it, refusing when that is more than the plan showed. In short:
only objects provision owns go; one holding data only when named with --allow-delete (a bucket
never: provision does not empty buckets); datasets and the project only when named; APIs only
with `disable_services`; IAM loses exactly the blueprint's members.

Everything kept is listed as `forget` with the reason. Changes run in reverse dependency order:
a change waits for the removal of everything that depended on its object.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace

from provision.blueprint.expand import expand
from provision.blueprint.loader import LoadedBlueprint
from provision.blueprint.warning_codes import ALLOW_DELETE_UNUSED, tagged
from provision.errors import PlanError
from provision.graph import State, run_graph, topological
from provision.model import JSON, Action, Address, Change, Plan, Resource
from provision.plan import plan_failure_message
from provision.resources import registry
from provision.resources.base import Context, RemovalScope, is_container, removal

READ_WORKERS = 16
UNREADABLE = "unreadable"
"""Key of the state recorded for an object whose API is disabled (kept, with the reason)."""


@dataclass(frozen=True)
class DestroyPlan:
    plan: Plan
    allowed: frozenset[str]
    """Addresses whose `delete` the applier may run (named ones plus owned, empty objects)."""


def plan_destroy(
    loaded: LoadedBlueprint,
    ctx: Context,
    *,
    only: AbstractSet[Address] | None = None,
    named: AbstractSet[str] = frozenset(),
    disable_services: bool = False,
    resources: Sequence[Resource] | None = None,
) -> DestroyPlan:
    """The removal plan for the blueprint (or the `only` addresses); see the module doc.
    `resources`: the blueprint's, when already expanded."""
    everything = expand(loaded) if resources is None else list(resources)
    resources = [r for r in everything if only is None or r.address in only]
    resources = [r for r in resources if registry.get(r.address.kind).removable]
    by_address = {r.address: r for r in resources}
    # The project and its APIs are read in any case: without the project nothing exists, and
    # objects whose API is disabled cannot be read.
    context = {r.address: r for r in everything if registry.get(r.address.kind).removal_context}
    observed = _read_all(ctx, {**context, **by_address})
    missing = [a for a in context if observed.get(a) is None]
    if missing:
        empty = Plan(
            blueprint_path=str(loaded.path),
            blueprint_digest=loaded.digest,
            changes=(),
            warnings=(f"{missing[0]} does not exist, so none of its objects do",),
        )
        return DestroyPlan(empty, frozenset())
    changes: dict[Address, Change] = {}
    scope = RemovalScope(frozenset(named), disable_services, changes)
    order = topological(
        list(by_address),
        {a: [d for d in r.depends_on if d in by_address] for a, r in by_address.items()},
    )
    for address in order:  # an object is decided before its policy and its contents
        change = _decide(ctx, by_address[address], observed.get(address), scope)
        if change is not None:
            changes[address] = change
    changes = reverse_dependencies(changes, everything)
    final_order = topological(list(changes), {a: c.depends_on for a, c in changes.items()})
    unused = sorted(set(named) - {str(a) for a, c in changes.items() if c.action is Action.DELETE})
    warnings = [
        tagged(f"--allow-delete {a}: not removed by this destroy", ALLOW_DELETE_UNUSED)
        for a in unused
    ]
    plan = Plan(
        blueprint_path=str(loaded.path),
        blueprint_digest=loaded.digest,
        changes=tuple(changes[a] for a in final_order),
        warnings=tuple(warnings),
    )
    return DestroyPlan(plan, deletes(plan))


def deletes(plan: Plan) -> frozenset[str]:
    """The addresses `plan` deletes: what the applier may delete (`Options.allow_delete`)."""
    return frozenset(str(c.address) for c in plan.changes if c.action is Action.DELETE)


def _decide(
    ctx: Context, resource: Resource, state: JSON | None, scope: RemovalScope
) -> Change | None:
    if state is None:
        return None  # absent: nothing to remove
    if UNREADABLE in state:
        return removal(resource, {}, Action.FORGET, f"{state[UNREADABLE]}; kept")
    return registry.get(resource.address.kind).plan_removal(ctx, resource, state, scope)


def _read_all(ctx: Context, by_address: Mapping[Address, Resource]) -> dict[Address, JSON | None]:
    """What each object looks like now (None: absent). Containers are read first; an object
    whose container is absent is absent without a read."""
    seen: dict[Address, JSON | None] = {}
    lock = threading.Lock()
    api_lists = [a for a in by_address if registry.get(a.kind).enables_apis]
    containers = {
        a: tuple(
            d for d in r.depends_on if d in by_address and (is_container(d, a) or d in api_lists)
        )
        for a, r in by_address.items()
    }

    def enabled() -> set[str]:
        with lock:
            return {
                api
                for a in api_lists
                for api in registry.get(a.kind).enabled_apis(seen.get(a) or {})
            }

    def work(address: Address) -> None:
        with lock:
            gone = any(seen.get(c) is None for c in containers[address] if c not in api_lists)
        kind = registry.get(address.kind)
        off = sorted(kind.requires_services - enabled()) if api_lists else []
        if gone:
            state = None
        elif off:
            state = {UNREADABLE: f"cannot be checked while {', '.join(off)} is disabled"}
        else:
            state = kind.removal_read(ctx, by_address[address])
        with lock:
            seen[address] = state

    result = run_graph(list(by_address), containers, work, workers=READ_WORKERS, cancel=ctx.cancel)
    failed = result.where(State.FAILED)
    if failed:
        raise PlanError(plan_failure_message(failed, result.outcomes))
    return seen


def reverse_dependencies(
    changes: Mapping[Address, Change], resources: Sequence[Resource]
) -> dict[Address, Change]:
    """Each change waits for the changes of every object that (transitively) depends on its
    object: stores before their dataset, everything before the APIs and the project."""
    deps = {r.address: r.depends_on for r in resources}
    ancestors: dict[Address, set[Address]] = {}

    def up(address: Address) -> set[Address]:
        if address not in ancestors:
            ancestors[address] = set()
            found: set[Address] = set()
            for dep in deps.get(address, ()):
                found |= {dep, *up(dep)}
            ancestors[address] = found
        return ancestors[address]

    waits: dict[Address, set[Address]] = {a: set() for a in changes}
    for address in changes:
        for ancestor in up(address):
            if ancestor in changes:
                waits[ancestor].add(address)
    return {a: replace(c, depends_on=tuple(sorted(waits[a], key=str))) for a, c in changes.items()}
