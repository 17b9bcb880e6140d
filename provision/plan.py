"""Planning: read the live state (reads only) and diff it against the desired resources.

Reads run concurrently, each as soon as the objects it depends on were read, so plan time
follows the depth of the graph, not the number of resources. Every object is read at most once.
A resource depending on something being created is planned as `create` without reading. A read
failing with 401/403 (or anything else) fails the plan: unreadable never means absent.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace

from provision.errors import PlanError, ProvisionError
from provision.gcp.retry import RunInterruptedError
from provision.graph import State, run_graph
from provision.model import Action, Address, Change, Observed, Plan, Resource
from provision.resources import registry
from provision.resources.base import Context, Kind
from provision.resources.symbols import resolve

DEFAULT_WORKERS = 16


def plan_resources(
    resources: Sequence[Resource],
    ctx: Context,
    *,
    blueprint_path: str,
    blueprint_digest: str,
    warnings: Sequence[str] = (),
    workers: int = DEFAULT_WORKERS,
) -> Plan:
    """The Plan for `resources` against the live state seen through `ctx.api`."""
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
    desired = frozenset(by_address)
    changes: dict[Address, Change] = {}
    extra: dict[Address, list[Change]] = {}
    lock = threading.Lock()

    def work(address: Address) -> None:
        resource = by_address[address]
        kind = registry.get(address.kind)
        with lock:
            waiting = [waits_for(kind, changes[d]) for d in resource.depends_on]
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
        found = [
            orphan_change(address, orphan, seen, ctx)
            for orphan, seen in kind.orphans(ctx, resource, observed, desired)
        ]
        with lock:
            changes[address] = change
            extra[address] = found

    order = list(by_address)
    result = run_graph(
        order,
        {a: r.depends_on for a, r in by_address.items()},
        work,
        workers=workers,
        cancel=ctx.cancel,
    )
    failed = result.where(State.FAILED)
    if result.interrupted or any(
        isinstance(result.outcomes[a].error, RunInterruptedError) for a in failed
    ):
        raise RunInterruptedError("planning interrupted; nothing was changed")
    if failed:
        raise PlanError(plan_failure_message(failed, result.outcomes))
    ordered: list[Change] = []
    for address in result.outcomes:
        ordered.append(changes[address])
        ordered += extra.get(address, [])
    named = {str(c.address) for c in ordered if c.action is Action.DELETE}
    unused = sorted(ctx.options.allow_delete - named)
    notes = [*warnings]
    notes += [f"--allow-delete {a}: nothing to delete at that address" for a in unused]
    return Plan(
        blueprint_path=blueprint_path,
        blueprint_digest=blueprint_digest,
        changes=tuple(ordered),
        warnings=tuple(notes),
    )


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
    lines = [f"cannot plan: {len(failed)} object(s) could not be read (nothing was changed)"]
    for address in failed:
        outcome = outcomes[address]
        error = getattr(outcome, "error", None)
        text = str(error) if isinstance(error, ProvisionError) else repr(error)
        if text.startswith(str(address)):
            lines.append(f"  {text}")
        else:
            lines.append(f"  {address}: {text}")
    return "\n".join(lines)
