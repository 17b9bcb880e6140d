"""`provision force-unlock BLUEPRINT RUN_ID`: free the project's lease that a run holds and will
not release (its machine crashed), instead of waiting for the lease to expire."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from provision.cli.app import app
from provision.cli.confirm import YesOption, ask, assumes_yes
from provision.cli.target import (
    CredentialsOption,
    EmulatorOption,
    EndpointOption,
    ImpersonateOption,
    TargetOptions,
    connect,
)
from provision.errors import ProvisionError


class UnlockError(ProvisionError):
    """The lease could not be freed as asked; nothing was changed."""


@app.command("force-unlock")
def force_unlock(
    blueprint: Annotated[Path, typer.Argument(help="The blueprint YAML file.")],
    run_id: Annotated[
        str, typer.Argument(help="The run holding the lease, as a refused apply names it.")
    ],
    yes: YesOption = False,
    endpoint: EndpointOption = None,
    emulator: EmulatorOption = False,
    credentials: CredentialsOption = None,
    impersonate_service_account: ImpersonateOption = None,
) -> None:
    """Free the project's lease held by run RUN_ID, e.g. of a machine that crashed, before it
    expires. Nothing else changes; only that run's lease is freed, and only if it is unchanged
    since read. A run still applying under it stops at its next renewal. Exit 0 when freed, or
    when there is nothing to free; 1 otherwise."""
    from provision.blueprint.loader import load
    from provision.cli.lease_step import prepare

    loaded = load(blueprint)
    target = TargetOptions(endpoint, emulator, credentials, impersonate_service_account)
    with connect(target) as connection:
        step = prepare(connection.api, loaded.blueprint)
        if step.lease is None or step.seen is None:
            typer.echo(f"Nothing to unlock ({step.note.split(' (')[0]}).")
            return
        site, seen = step.lease.site, step.seen
        if seen.state != "held":
            typer.echo(f"Lease {site} is not held; nothing to do.")
            return
        if seen.run_id != run_id:
            raise UnlockError(
                f"lease {site} is {seen.describe()}, not by run {run_id}; nothing was changed"
            )
        typer.echo(f"Lease {site} is {seen.describe()}.", err=True)
        ask(
            f"Free it? If run {run_id} is still applying, it stops at its next renewal.",
            "force-unlock",
            "the lease's holder",
            assumes_yes(yes),
        )
        if not step.lease.force_release(seen):
            raise UnlockError(
                f"lease {site} changed while it was being freed (its run renewed or released "
                "it, or another run took it); nothing was changed. Run the command again."
            )
    typer.echo(f"Lease {site} freed; it was {seen.describe()}.")
