"""The lease around `provision apply`: where it lives, `--lease-wait`, and what to tell the user.

See `provision.lease` for the protocol. Where the lease lives:

1. `lease.bucket` in the blueprint: an existing bucket (best one outside the project, so the very
   first apply, which creates the project, is covered too);
2. else the blueprint's first bucket that no import reads, else its first bucket whose imports
   cannot read the lease object (validation refuses a blueprint with buckets but no such one),
   once it exists;
3. else no lease; apply says so. A run that creates the lease's bucket runs without a lease.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from provision.cli.confirm import confirm
from provision.errors import GoogleApiError, ProvisionError

if TYPE_CHECKING:
    from provision.blueprint.schema import Blueprint
    from provision.gcp.api import GoogleApi
    from provision.lease import Held, Lease, LeaseLostError, Seen
    from provision.model import Plan

T = TypeVar("T")

LeaseWaitOption = Annotated[
    float,
    typer.Option(
        "--lease-wait",
        min=0,
        help="Seconds to wait while another apply holds the project's lease (0: fail at once).",
    ),
]


class LeaseBucketError(ProvisionError):
    """`lease.bucket` names a bucket that does not exist."""


@dataclass
class LeaseStep:
    """The lease of one apply: `lease` is None when this run has none (`note` says why)."""

    lease: Lease | None
    seen: Seen | None
    note: str
    lost: LeaseLostError | None = None


def prepare(api: GoogleApi, blueprint: Blueprint | None) -> LeaseStep:
    """Find the lease and read it (one read), before anything is planned."""
    from provision.lease import Lease, choose_site

    if blueprint is None:
        return LeaseStep(None, None, "no lease: the saved plan's blueprint file is not there")
    declared = [bucket.name for bucket in blueprint.buckets]
    site = choose_site(
        blueprint.project.id,
        bucket=blueprint.lease.bucket,
        declared_buckets=declared,
        import_uris=[entry.uri for entry in blueprint.imports],
        ttl=float(blueprint.lease.ttl_seconds),
    )
    if site is None:
        return LeaseStep(
            None,
            None,
            "no lease: the blueprint declares no bucket; set lease.bucket so that concurrent "
            "applies cannot interleave",
        )
    lease = Lease(api, site, run_id=uuid.uuid4().hex[:12], holder=holder_name(api))
    try:
        seen = lease.peek()
    except GoogleApiError as error:
        if error.http_status != 404:
            raise
        if site.bucket in declared:
            return LeaseStep(
                None,
                None,
                f"no lease: bucket {site.bucket} does not exist yet (this apply creates it; "
                "later applies take the lease)",
            )
        raise LeaseBucketError(
            f"the lease bucket {site.bucket} (lease.bucket) does not exist; create it, or "
            "remove lease.bucket to keep the lease in the blueprint's first bucket"
        ) from None
    return LeaseStep(lease, seen, f"lease {site}")


@contextmanager
def hold(step: LeaseStep, *, wait: float) -> Iterator[Held | None]:
    """Hold the lease for the block (nothing when the run has none); report it on stderr."""
    from provision.lease import holding

    if step.lease is None or step.seen is None:
        typer.echo(f"Lease: {step.note}.", err=True)
        yield None
        return
    lease = step.lease

    def lost(error: LeaseLostError) -> None:
        step.lost = error
        lease.api.cancel.set()

    with holding(lease, step.seen, wait=wait, on_lost=lost) as held:
        taken = ""
        if held.took_over_why == "expired":
            taken = f" (took over the expired lease of {held.took_over})"
        elif held.took_over:
            taken = f" (took over the lease of {held.took_over}: {held.took_over_why})"
        typer.echo(
            f"Lease: {lease.site} held by run {held.run_id}, generation {held.generation}{taken}.",
            err=True,
        )
        yield held
    if step.lost is not None:
        raise step.lost


def holder_name(api: GoogleApi) -> str:
    """Who holds the lease, for the error another run shows: identity, host and process."""
    member = api.identity.member or "anonymous"
    return f"{member} on {socket.gethostname()} pid {os.getpid()}"


def run_under_lease(
    step: LeaseStep,
    plan: Plan,
    replan: Callable[[], Plan],
    run: Callable[[Plan], T],
    *,
    show: Callable[[Plan], None],
    assume_yes: bool,
) -> T | None:
    """For commands that plan before taking the lease (destroy, onboard): hold it (no waiting)
    while `run` applies the plan, planned again first when another run held the lease since
    (`replan_if_others_wrote`). None when the new plan has nothing left to do."""
    with hold(step, wait=0.0) as held:
        fresh = replan_if_others_wrote(held, plan, replan, show=show, assume_yes=assume_yes)
        return None if fresh is None else run(fresh)


def replan_if_others_wrote(
    held: Held | None,
    plan: Plan,
    replan: Callable[[], Plan],
    *,
    show: Callable[[Plan], None],
    assume_yes: bool,
) -> Plan | None:
    """When another run held the lease since this one planned (or this run took over a dead
    run's lease), plan again under the lease. A new plan that differs from the confirmed one
    is shown and confirmed again; None when the new plan has nothing left to do."""
    if held is None or held.trusted:
        return plan
    fresh = replan()
    if _decisions(fresh) == _decisions(plan):
        return fresh
    typer.echo("The project changed while waiting for the lease; new plan:")
    show(fresh)
    if not fresh.has_changes:
        return None
    confirm(assume_yes)
    return fresh


def _decisions(plan: Plan) -> list[tuple[object, ...]]:
    """What a confirmation agreed to: each change's action, field changes, reason and what an
    object to delete held."""
    from provision.resources.base import HOLDS

    return [
        (c.address, c.action, c.diffs, c.reason, (c.before or {}).get(HOLDS))
        for c in plan.changes
        if c.is_mutation
    ]
