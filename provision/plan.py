"""Planning: read the live state (reads only) and diff it against the desired resources.

Reads run concurrently, each as soon as its containers were read, so plan time follows the
depth of the containment graph, not the number of resources. Every object is read at most once.

A dependency whose name equals or prefixes the resource's name (`projects/p` for
`projects/p/services`) is its *container*: the resource is read after it, and planned as
`create` without reading when the container is being created. A kind may wait for more
(`Kind.reads_after`): Healthcare and Storage objects also wait for the `services` change and are
planned without reading when it enables their API. Other dependencies (services after billing, a
grant after its service agent) only order apply. Datasets and buckets are also read after the
scan that lists them when it is planned (`Kind.answered_by`): the scan's list answers their
reads, and only an object missing from it is read on its own. A read failing with 401/403
(or anything else) fails the plan: unreadable never means absent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import replace

from provision.blueprint.expand import expand
from provision.blueprint.loader import LoadedBlueprint
from provision.blueprint.oauth import manual_changes
from provision.blueprint.warning_codes import ALLOW_DELETE_UNUSED, FORGET_UNMATCHED, tagged
from provision.errors import PlanError, ProvisionError, RunInterruptedError
from provision.graph import GraphResult, State, run_graph, topological
from provision.model import Action, Address, Change, Observed, Plan, Resource
from provision.resources import registry
from provision.resources.base import Context, Kind
from provision.resources.symbols import resolve

DEFAULT_WORKERS = 128


def plan_blueprint(
    loaded: LoadedBlueprint,
    ctx: Context,
    *,
    workers: int = DEFAULT_WORKERS,
    only: AbstractSet[Address] | None = None,
    resources: Sequence[Resource] | None = None,
) -> Plan:
    """Plan the blueprint's resources (`resources`, else `expand(loaded)`) against the live
    state.

    `only`: plan just these addresses and what they depend on (see `with_dependencies`).
    The blueprint's manual OAuth steps (`oauth`) are appended as `manual` changes.
    """
    resources = expand(loaded) if resources is None else resources
    check_forgotten(loaded, resources)
    result = plan_resources(
        resources,
        ctx,
        blueprint_path=str(loaded.path),
        blueprint_digest=loaded.digest,
        warnings=[str(w) for w in loaded.warnings],
        workers=workers,
        only=only,
        forgotten={
            text: f"{loaded.locate(f'forget[{i}]')}: forget[{i}]"
            for i, text in enumerate(loaded.blueprint.forget)
        },
    )
    manual = tuple(manual_changes(loaded.blueprint))
    return replace(result, changes=result.changes + manual) if manual else result


def with_dependencies(
    resources: Sequence[Resource], only: AbstractSet[Address]
) -> frozenset[Address]:
    """`only` plus everything its members depend on, transitively (addresses not declared in
    `resources` are ignored)."""
    by_address = {r.address: r for r in resources}
    selected: set[Address] = set()
    pending = [a for a in only if a in by_address]
    while pending:
        address = pending.pop()
        if address in selected:
            continue
        selected.add(address)
        pending += [d for d in by_address[address].depends_on if d in by_address]
    return frozenset(selected)


def plan_resources(
    resources: Sequence[Resource],
    ctx: Context,
    *,
    blueprint_path: str,
    blueprint_digest: str,
    warnings: Sequence[str] = (),
    workers: int = DEFAULT_WORKERS,
    only: AbstractSet[Address] | None = None,
    forgotten: Mapping[str, str] | None = None,
) -> Plan:
    """The Plan for `resources` against the live state seen through `ctx.api`.

    `only`: plan just these addresses and their transitive dependencies; everything declared
    still counts as desired (so nothing outside the selection is reported as an orphan).
    `forgotten`: addresses (`kind:name`) of objects no longer in the blueprint that the plan
    leaves out (the blueprint's `forget` list) instead of showing them as `forget`; one named
    with --allow-delete is still deleted. Each maps to where it is declared; an entry that
    matches nothing the plan found to drop gets a FORGET_UNMATCHED warning (not when `only`
    selects part of the blueprint, whose plan does not look for everything to drop).
    """
    forgotten = forgotten or {}
    by_address: dict[Address, Resource] = {}
    for resource in resources:
        if resource.address in by_address:
            raise PlanError(f"{resource.address} is declared twice")
        by_address[resource.address] = resource
    for resource in resources:
        for dep in resource.depends_on:
            if dep not in by_address:
                raise PlanError(f"{resource.address} depends on undeclared {dep}")
        registry.get(resource.address.kind)  # unknown kinds fail before any read
    check_reimports(resources, ctx.options.reimport_only)
    desired = frozenset(by_address)
    if only is not None:
        keep = with_dependencies(resources, only)
        by_address = {a: r for a, r in by_address.items() if a in keep}
    ctx = ctx.for_planning(frozenset(by_address))
    changes: dict[Address, Change] = {}
    extra: dict[Address, list[Change]] = {}
    dropped: set[str] = set()
    lock = threading.Lock()

    def work(address: Address) -> None:
        resource = by_address[address]
        kind = registry.get(address.kind)
        with lock:
            waiting = [waits_for(kind, changes[d]) for d in containers[address]]
        resource = replace(resource, spec=resolve(resource.spec, ctx.facts.snapshot()))
        first = next((why for why in waiting if why), "")
        if first:
            change = kind.diff(resource, Observed.absent(), ctx.options)
            change = replace(change, observed_exists=None, reason=change.reason or first)
            with lock:
                changes[address] = change
            return
        resource = replace(resource, spec=ctx.facts.resolve_fully(resource.spec, str(address)))
        observed = kind.read(ctx, resource)
        ctx.facts.update(kind.facts(resource, observed))
        change = kind.diff(resource, observed, ctx.options)
        orphans = list(kind.orphans(ctx, resource, observed, desired))
        found = [
            orphan_change(address, orphan, seen, ctx)
            for orphan, seen in orphans
            if str(orphan) not in forgotten or str(orphan) in ctx.options.allow_delete
        ]
        with lock:
            changes[address] = change
            extra[address] = found
            dropped.update(str(orphan) for orphan, _ in orphans)

    order = list(by_address)
    containers = {a: read_after(r, by_address) for a, r in by_address.items()}
    result = _run_reads(order, containers, work, workers, ctx)
    failed = result.where(State.FAILED)
    if result.interrupted or any(
        isinstance(result.outcomes[a].error, RunInterruptedError) for a in failed
    ):
        raise RunInterruptedError("planning interrupted; nothing was changed")
    if failed:
        raise PlanError(plan_failure_message(failed, result.outcomes))
    ordered: list[Change] = []
    full_order = topological(order, {a: r.depends_on for a, r in by_address.items()})
    for address in full_order:
        ordered.append(changes[address])
        ordered += extra.get(address, [])
    notes = [*warnings, *_run_warnings(ordered, ctx, forgotten, dropped if only is None else None)]
    return Plan(
        blueprint_path=blueprint_path,
        blueprint_digest=blueprint_digest,
        changes=tuple(ordered),
        warnings=tuple(notes),
    )


def _run_reads(
    order: Sequence[Address],
    containers: Mapping[Address, Sequence[Address]],
    work: Callable[[Address], None],
    workers: int,
    ctx: Context,
) -> GraphResult[Address, None]:
    """`work` over the graph, then the reads answered in the background (which end with it;
    after Ctrl-C or a failure of the run, nothing waits for their HTTP exchanges in flight)."""
    result = run_graph(order, containers, work, workers=workers, cancel=ctx.cancel)
    if ctx.shared_reads is not None and not result.interrupted and not ctx.cancel.is_set():
        ctx.shared_reads.join()
    return result


def _run_warnings(
    changes: Sequence[Change],
    ctx: Context,
    forgotten: Mapping[str, str],
    dropped: AbstractSet[str] | None,
) -> list[str]:
    """The plan's own warnings: --allow-delete addresses it does not delete and, when
    `dropped` (what the plan found to drop) is known, `forget` entries matching none of it."""
    named = {str(c.address) for c in changes if c.action is Action.DELETE}
    notes = [
        tagged(f"--allow-delete {a}: nothing to delete at that address", ALLOW_DELETE_UNUSED)
        for a in sorted(ctx.options.allow_delete - named)
    ]
    if dropped is not None:
        notes += [
            tagged(f"{where}: {text} matches nothing to drop; remove the entry", FORGET_UNMATCHED)
            for text, where in forgotten.items()
            if text not in dropped
        ]
    return notes


def check_forgotten(loaded: LoadedBlueprint, resources: Sequence[Resource]) -> None:
    """PlanError for a `forget` entry naming an object the blueprint declares."""
    declared = {str(r.address) for r in resources}
    for index, text in enumerate(loaded.blueprint.forget):
        if text in declared:
            where = loaded.locate(f"forget[{index}]")
            raise PlanError(
                f"{where}: forget[{index}]: {text} is declared in this blueprint; forget lists "
                "objects the blueprint no longer declares"
            )


def check_reimports(resources: Sequence[Resource], named: AbstractSet[str]) -> None:
    """PlanError for a `--reimport IMPORT` that names none of `resources` that rerun."""
    rerunnable = [r for r in resources if registry.get(r.address.kind).reruns]
    for text in sorted(named):
        if not any(registry.get(r.address.kind).named_by(r, text) for r in rerunnable):
            known = ", ".join(str(r.address) for r in rerunnable) or "none"
            raise PlanError(
                f"--reimport {text}: the blueprint has no import of that address, name or URI "
                f"(its imports: {known})"
            )


def read_after(resource: Resource, planned: Mapping[Address, Resource]) -> tuple[Address, ...]:
    """What `resource`'s read waits for: the dependencies its kind reads after
    (`Kind.reads_after`), then the planned scans whose lists answer its read
    (`Kind.answered_by`)."""
    kind = registry.get(resource.address.kind)
    address = resource.address
    waits = [d for d in resource.depends_on if kind.reads_after(address, d, registry.get(d.kind))]
    waits += [
        scan
        for scan in kind.answered_by(resource)
        if scan in planned and scan != address and scan not in waits
    ]
    return tuple(waits)


def waits_for(kind: Kind, dependency: Change) -> str:
    """Why an object cannot be read yet because of `dependency` ("" when it can)."""
    if dependency.action is Action.CREATE:
        return f"{dependency.address} will be created first"
    enabling = registry.get(dependency.address.kind).enables(dependency) & kind.requires_services
    if enabling:
        return f"{', '.join(sorted(enabling))} will be enabled first"
    return ""


def orphan_change(parent: Address, address: Address, observed: Observed, ctx: Context) -> Change:
    """`delete` when the user named the address with --allow-delete, else `forget`.

    What the orphan holds (`observed.fields["contents"]`, when its kind says) is part of the reason.
    """
    contents = observed.fields.get("contents")
    held = f"; {contents}" if contents else ""
    if str(address) in ctx.options.allow_delete:
        return Change(
            address,
            Action.DELETE,
            before=dict(observed.fields),
            reason=f"no longer in the blueprint; deletion allowed by --allow-delete{held}",
            etag=observed.etag,
            depends_on=(parent,),
            observed_exists=True,
        )
    return Change(
        address,
        Action.FORGET,
        before=dict(observed.fields),
        reason=(
            f"no longer in the blueprint; left as it is (use --allow-delete to delete it){held}"
        ),
        etag=observed.etag,
        depends_on=(parent,),
        observed_exists=True,
    )


def plan_failure_message(failed: Sequence[Address], outcomes: Mapping[Address, object]) -> str:
    lines = [
        f"cannot plan: {len(failed)} object(s) could not be read or planned (nothing was changed)"
    ]
    for address in failed:
        outcome = outcomes[address]
        error = getattr(outcome, "error", None)
        text = str(error) if isinstance(error, ProvisionError) else repr(error)
        if text.startswith(str(address)):
            lines.append(f"  {text}")
        else:
            lines.append(f"  {address}: {text}")
    return "\n".join(lines)
