"""The lease around a run's writes: where it lives, holding it, and what to tell the user.

See `provision.lease` for the protocol. Where the lease lives:

1. `lease.bucket` in the blueprint: an existing bucket (best one outside the project, so the very
   first apply, which creates the project, is covered too);
2. else the blueprint's first bucket that no import reads, else its first bucket whose imports
   cannot read the lease object (validation refuses a blueprint with buckets but no such one),
   once it exists;
3. else no lease; the run says so. A run that creates the lease's bucket runs without a lease.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from provision.errors import GoogleApiError, ProvisionError
from provision.lease import Held, Lease, LeaseLostError, Seen, choose_site, holding
from provision.resources.base import HOLDS

if TYPE_CHECKING:
    from provision.blueprint.schema import Blueprint
    from provision.gcp.api import GoogleApi
    from provision.model import Plan
    from provision.workflows.ui import Ui


class LeaseBucketError(ProvisionError):
    """`lease.bucket` names a bucket that does not exist."""


@dataclass
class LeaseStep:
    """The lease of one run: `lease` is None when this run has none (`note` says why)."""

    lease: Lease | None
    seen: Seen | None
    note: str
    lost: LeaseLostError | None = None


def prepare(api: GoogleApi, blueprint: Blueprint) -> LeaseStep:
    """Find the lease and read it (one read), before anything is planned."""
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
def hold(step: LeaseStep, *, wait: float, ui: Ui) -> Iterator[Held | None]:
    """Hold the lease for the block (nothing when the run has none), telling `ui` about it;
    raises the LeaseLostError when another run took the lease meanwhile."""
    if step.lease is None or step.seen is None:
        ui.note(f"Lease: {step.note}.")
        yield None
        return
    lease = step.lease

    def lost(error: LeaseLostError) -> None:
        step.lost = error
        lease.api.cancel.set()

    with holding(lease, step.seen, wait=wait, on_lost=lost) as held:
        where = f"{lease.site} held by run {held.run_id}, generation {held.generation}"
        ui.note(f"Lease: {where}{_taken(held)}.")
        yield held
    if step.lost is not None:
        raise step.lost


def _taken(held: Held) -> str:
    if held.took_over_why == "expired":
        return f" (took over the expired lease of {held.took_over})"
    if held.took_over:
        return f" (took over the lease of {held.took_over}: {held.took_over_why})"
    return ""


def holder_name(api: GoogleApi) -> str:
    """Who holds the lease, for the error another run shows: identity, host and process."""
    member = api.identity.member or "anonymous"
    return f"{member} on {socket.gethostname()} pid {os.getpid()}"


def decisions(plan: Plan) -> list[tuple[object, ...]]:
    """What a confirmation agreed to: each change's action, field changes, reason and what an
    object to delete held."""
    return [
        (c.address, c.action, c.diffs, c.reason, (c.before or {}).get(HOLDS))
        for c in plan.changes
        if c.is_mutation
    ]
