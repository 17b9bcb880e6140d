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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer

from provision.errors import GoogleApiError, ProvisionError

if TYPE_CHECKING:
    from provision.blueprint.schema import Blueprint
    from provision.gcp.api import GoogleApi
    from provision.lease import Held, Lease, LeaseLostError, Seen

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


def refuse_if_others_wrote(held: Held | None) -> None:
    """For commands that do not re-plan: refuse when another run held the lease since planning."""
    from provision.errors import StalePlanError

    if held is not None and not held.trusted:
        raise StalePlanError(
            "another run changed this project while this one was planning; nothing was changed. "
            "Run the command again."
        )
