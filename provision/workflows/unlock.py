"""`force-unlock`: free the project's lease that a run holds and will not release (its machine
crashed), instead of waiting for the lease to expire."""

from __future__ import annotations

from pathlib import Path

from provision.blueprint.loader import load
from provision.errors import ProvisionError
from provision.workflows.leasing import prepare
from provision.workflows.ui import Connect, Ui


class UnlockError(ProvisionError):
    """The lease could not be freed as asked; nothing was changed."""


def force_unlock(blueprint: Path, run_id: str, ui: Ui, connect: Connect) -> None:
    """Free the project's lease if run `run_id` holds it, after confirming; nothing else
    changes. Says so when there is nothing to free; UnlockError when another run holds it or
    it changed while being freed."""
    loaded = load(blueprint)
    with connect() as api:
        step = prepare(api, loaded.blueprint)
        if step.lease is None or step.seen is None:
            ui.say(f"Nothing to unlock ({step.note.split(' (')[0]}).")
            return
        site, seen = step.lease.site, step.seen
        if seen.state != "held":
            ui.say(f"Lease {site} is not held; nothing to do.")
            return
        if seen.run_id != run_id:
            raise UnlockError(
                f"lease {site} is {seen.describe()}, not by run {run_id}; nothing was changed"
            )
        ui.note(f"Lease {site} is {seen.describe()}.")
        ui.confirm(
            f"Free it? If run {run_id} is still applying, it stops at its next renewal.",
            action="force-unlock",
            review="the lease's holder",
        )
        if not step.lease.force_release(seen):
            raise UnlockError(
                f"lease {site} changed while it was being freed (its run renewed or released "
                "it, or another run took it); nothing was changed. Run the command again."
            )
    ui.say(f"Lease {site} freed; it was {seen.describe()}.")
