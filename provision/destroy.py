"""Planning `provision destroy`: what of a blueprint (or of one site) may be removed, and how.

Reads only; returns a `Plan` that the ordinary applier executes (`apply_plan`, with the returned
`allowed` addresses as `Options.allow_delete`). Rules, per object the blueprint declares:

* DICOM stores and buckets are removed only when provision owns them (`managed-by: provision`)
  and they are empty; one holding data is removed only when named with --allow-delete. A store
  with deletion protection is never removed.
* A dataset is owned only when every store in it is, and it is removed only when named; its
  stores must all be unprotected.
* IAM: exactly the members the blueprint grants are taken out of each policy (additive and
  authoritative bindings alike); everyone else stays. A policy goes with its object when that is
  removed.
* APIs are disabled only with `disable_services` (the blueprint's listed APIs, whole blueprint
  only); the project is deleted only when named; billing links, service agents and imports are
  left alone.

Everything kept is listed as `forget` with the reason. Changes run in reverse dependency order:
a change waits for the removal of everything that depended on its object.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace

from provision.blueprint.expand import expand, iam_parent
from provision.blueprint.loader import LoadedBlueprint
from provision.errors import PlanError
from provision.graph import State, run_graph, topological
from provision.model import JSON, Action, Address, Change, FieldDiff, Plan, Resource
from provision.plan import plan_failure_message
from provision.resources import ownership, registry
from provision.resources.base import Context, is_container
from provision.resources.iam import IamKind, wanted_bindings
from provision.resources.iam_policy import removals_of, subtract

READ_WORKERS = 16
UNREADABLE = "unreadable"
"""Key of the state recorded for an object whose API is disabled (kept, with the reason)."""
IAM_KINDS = frozenset(
    {"project_iam", "healthcare.dataset_iam", "healthcare.dicom_store_iam", "storage.bucket_iam"}
)
READ_KINDS = IAM_KINDS | {
    "project",
    "services",
    "healthcare.dataset",
    "healthcare.dicom_store",
    "storage.bucket",
}
"""The kinds destroy looks at; the others (billing, scans, service agents, imports) stay."""
CONTEXT_KINDS = frozenset({"project", "services"})


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
) -> DestroyPlan:
    """The removal plan for the blueprint (or the `only` addresses); see the module doc."""
    everything = expand(loaded)
    resources = [r for r in everything if only is None or r.address in only]
    resources = [r for r in resources if r.address.kind in READ_KINDS]
    by_address = {r.address: r for r in resources}
    # The project and its APIs are read in any case: without the project nothing exists, and
    # objects whose API is disabled cannot be read.
    context = {r.address: r for r in everything if r.address.kind in CONTEXT_KINDS}
    observed = _read_all(ctx, {**context, **by_address})
    missing = [a for a in context if a.kind == "project" and observed.get(a) is None]
    if missing:
        empty = Plan(
            blueprint_path=str(loaded.path),
            blueprint_digest=loaded.digest,
            changes=(),
            warnings=(f"{missing[0]} does not exist, so none of its objects do",),
        )
        return DestroyPlan(empty, frozenset())
    decider = _Decider(ctx, observed, named, disable_services)
    changes: dict[Address, Change] = {}
    order = topological(
        list(by_address),
        {a: [d for d in r.depends_on if d in by_address] for a, r in by_address.items()},
    )
    # Objects first (so their policies know whether they go), policies after.
    for address in sorted(order, key=lambda a: a.kind in IAM_KINDS):
        change = decider.decide(by_address[address], changes)
        if change is not None:
            changes[address] = change
    changes = reverse_dependencies(changes, everything)
    final_order = topological(list(changes), {a: c.depends_on for a, c in changes.items()})
    unused = sorted(set(named) - {str(a) for a, c in changes.items() if c.action is Action.DELETE})
    warnings = [f"--allow-delete {a}: not removed by this destroy" for a in unused]
    plan = Plan(
        blueprint_path=str(loaded.path),
        blueprint_digest=loaded.digest,
        changes=tuple(changes[a] for a in final_order),
        warnings=tuple(warnings),
    )
    allowed = frozenset(str(a) for a, c in changes.items() if c.action is Action.DELETE)
    return DestroyPlan(plan, allowed)


def _read_all(ctx: Context, by_address: Mapping[Address, Resource]) -> dict[Address, JSON | None]:
    """What each object looks like now (None: absent). Containers are read first; an object
    whose container is absent is absent without a read."""
    seen: dict[Address, JSON | None] = {}
    lock = threading.Lock()
    services = [a for a in by_address if a.kind == "services"]
    containers = {
        a: tuple(
            d
            for d in r.depends_on
            if d in by_address and (is_container(d, a) or d.kind == "services")
        )
        for a, r in by_address.items()
    }

    def work(address: Address) -> None:
        with lock:
            gone = any(seen.get(c) is None for c in containers[address] if c.kind != "services")
            enabled = {s for a in services for s in (seen.get(a) or {}).get("enabled", [])}
        off = sorted(registry.get(address.kind).requires_services - enabled) if services else []
        if gone:
            state = None
        elif off:
            state = {UNREADABLE: f"cannot be checked while {', '.join(off)} is disabled"}
        else:
            state = _read(ctx, by_address[address])
        with lock:
            seen[address] = state

    result = run_graph(list(by_address), containers, work, workers=READ_WORKERS, cancel=ctx.cancel)
    failed = result.where(State.FAILED)
    if failed:
        raise PlanError(plan_failure_message(failed, result.outcomes))
    return seen


def _read(ctx: Context, resource: Resource) -> JSON | None:
    from provision.resources.bucket import get_bucket
    from provision.resources.dicom_store import get_store
    from provision.resources.healthcare_dataset import get_dataset, list_stores
    from provision.resources.services import list_enabled

    address = resource.address
    kind = address.kind
    if kind == "project":
        project = registry.get(kind).read(ctx, resource)
        return dict(project.fields) if project.exists else None
    if kind == "services":
        return {"enabled": list_enabled(ctx, resource.spec["projectId"])}
    if kind == "healthcare.dataset":
        dataset = get_dataset(ctx, address.name)
        return None if dataset is None else {"stores": list_stores(ctx, address.name)}
    if kind == "healthcare.dicom_store":
        return get_store(ctx, address.name)
    if kind == "storage.bucket":
        return get_bucket(ctx, address.name.rsplit("/", 1)[-1])
    iam = registry.get(kind)
    assert isinstance(iam, IamKind)
    policy: JSON = iam.get_policy(ctx, iam.policy_target(resource))
    return policy


class _Decider:
    def __init__(
        self,
        ctx: Context,
        observed: Mapping[Address, JSON | None],
        named: AbstractSet[str],
        disable_services: bool,
    ) -> None:
        self.ctx = ctx
        self.observed = observed
        self.named = named
        self.disable_services = disable_services

    def decide(self, resource: Resource, done: Mapping[Address, Change]) -> Change | None:
        state = self.observed.get(resource.address)
        if state is None:
            return None  # absent: nothing to remove
        if UNREADABLE in state:
            return _keep(resource, {}, f"{state[UNREADABLE]}; kept")
        deciders: dict[str, Callable[[Resource, JSON, Mapping[Address, Change]], Change | None]]
        deciders = {
            "project": self._project,
            "services": self._services,
            "healthcare.dataset": self._dataset,
            "healthcare.dicom_store": self._store,
            "storage.bucket": self._bucket,
        }
        decide = deciders.get(resource.address.kind, self._iam)
        return decide(resource, state, done)

    # -- one per kind ---------------------------------------------------------------------

    def _project(self, resource: Resource, state: JSON, done: Mapping[Address, Change]) -> Change:
        if str(resource.address) in self.named:
            return _delete(
                resource,
                state,
                "named with --allow-delete: the project and "
                "everything in it are deleted (restorable for 30 days)",
            )
        return _keep(
            resource,
            state,
            f"the project is kept (name it with --allow-delete {resource.address} to delete it)",
        )

    def _services(self, resource: Resource, state: JSON, done: Mapping[Address, Change]) -> Change:
        listed = sorted(resource.spec.get("services") or [])
        enabled = sorted(set(state.get("enabled") or []) & set(listed))
        if not enabled:
            return _keep(resource, state, "none of the blueprint's APIs is enabled")
        if not self.disable_services:
            return _keep(
                resource,
                state,
                "APIs stay enabled (pass --disable-services to disable the blueprint's APIs)",
            )
        return Change(
            resource.address,
            Action.UPDATE,
            before=dict(state),
            after={"projectId": resource.spec["projectId"], "services": []},
            diffs=(FieldDiff("services", enabled, []),),
            reason=f"--disable-services: disables {', '.join(enabled)}",
            observed_exists=True,
        )

    def _store(self, resource: Resource, state: JSON, done: Mapping[Address, Change]) -> Change:
        from provision.resources.dicom_store import store_contents

        labels = state.get("labels") or {}
        fields = {"labels": dict(labels)}
        if not ownership.is_managed(labels):
            return _keep(resource, fields, "not created by provision (no managed-by label)")
        if ownership.is_protected(labels):
            return _keep(
                resource,
                fields,
                f"deletion protection is on (label {ownership.PROTECTION_KEY}); set "
                "`deletionProtection: false` on the store and apply first",
            )
        contents = store_contents(self.ctx, resource.address.name)
        return self._data_guard(resource, fields, contents, empty="holds no DICOM studies")

    def _bucket(self, resource: Resource, state: JSON, done: Mapping[Address, Change]) -> Change:
        from provision.resources.bucket import bucket_contents

        labels = state.get("labels") or {}
        fields = {"labels": dict(labels)}
        if not ownership.is_managed(labels):
            return _keep(resource, fields, "not created by provision (no managed-by label)")
        contents = bucket_contents(self.ctx, resource.address.name.rsplit("/", 1)[-1])
        return self._data_guard(resource, fields, contents, empty="is empty")

    def _data_guard(self, resource: Resource, fields: JSON, contents: str, *, empty: str) -> Change:
        fields = {**fields, "contents": contents}
        if str(resource.address) in self.named:
            return _delete(resource, fields, f"named with --allow-delete; {contents}")
        if contents == empty:
            return _delete(resource, fields, f"owned and {empty}")
        return _keep(
            resource,
            fields,
            f"{contents.partition(';')[0]}: refusing to delete it without --allow-delete "
            f"{resource.address}",
        )

    def _dataset(self, resource: Resource, state: JSON, done: Mapping[Address, Change]) -> Change:
        from provision.resources.healthcare_dataset import dataset_store_protected

        stores = list(state.get("stores") or [])
        unowned = [s["id"] for s in stores if not s.get("managed")]
        if unowned:
            return _keep(
                resource, state, f"holds stores provision does not own ({', '.join(unowned)})"
            )
        protected = [s["id"] for s in stores if dataset_store_protected(s)]
        if str(resource.address) not in self.named:
            return _keep(
                resource,
                state,
                f"datasets are deleted only when named: --allow-delete {resource.address}",
            )
        if protected:
            return _keep(resource, state, f"store {protected[0]} has deletion protection on")
        held = f"; deletes its {len(stores)} store(s) with their data" if stores else ""
        return _delete(resource, state, f"named with --allow-delete{held}")

    def _iam(
        self, resource: Resource, state: JSON, done: Mapping[Address, Change]
    ) -> Change | None:
        parent = iam_parent(resource.address)
        going = parent in done and done[parent].action is Action.DELETE if parent else False
        if going:
            return None  # the policy goes with its object
        spec = self.ctx.facts.resolve_fully(resource.spec, str(resource.address))
        result = subtract(state, wanted_bindings(spec))
        if not result.changed:
            return None
        kind = registry.get(resource.address.kind)
        if not self.ctx.options.allow_remove_own_access and self.ctx.options.caller:
            lost = removals_of(self.ctx.options.caller, result.removals, kind.iam_admin_roles)
            if lost:
                return _keep(
                    resource,
                    state,
                    f"removing {self.ctx.options.caller} from {lost[0].role} would stop it "
                    "managing this policy; pass --allow-remove-own-access",
                )
        members = sorted({r.member for r in result.removals})
        return Change(
            resource.address,
            Action.DELETE,
            before=dict(state),
            after=dict(spec),
            diffs=result.diffs,
            reason=f"removes the blueprint's members only ({', '.join(members)})",
            etag=str(state.get("etag")) if state.get("etag") else None,
            observed_exists=True,
        )


def _delete(resource: Resource, state: JSON, reason: str) -> Change:
    return Change(
        resource.address, Action.DELETE, before=dict(state), reason=reason, observed_exists=True
    )


def _keep(resource: Resource, state: JSON, reason: str) -> Change:
    return Change(
        resource.address, Action.FORGET, before=dict(state), reason=reason, observed_exists=True
    )


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
