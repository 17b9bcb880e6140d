"""`provision force-unlock BLUEPRINT RUN_ID`: free the project's lease that a run holds and will
not release (its machine crashed), instead of waiting for the lease to expire."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from provision.cli.options import BlueprintArg, YesOption, assumes_yes, command

if TYPE_CHECKING:
    from provision.cli.target import TargetOptions


@command("force-unlock")
def force_unlock(
    blueprint: BlueprintArg,
    run_id: Annotated[
        str, typer.Argument(help="The run holding the lease, as a refused apply names it.")
    ],
    *,
    target: TargetOptions,
    yes: YesOption = False,
) -> None:
    """Free the project's lease held by run RUN_ID, e.g. of a machine that crashed, before it
    expires. Nothing else changes; only that run's lease is freed, and only if it is unchanged
    since read. A run still applying under it stops at its next renewal. Exit 0 when freed, or
    when there is nothing to free; 1 otherwise."""
    from provision.cli.terminal import TerminalUi
    from provision.workflows.unlock import force_unlock as run

    run(blueprint, run_id, TerminalUi(assumes_yes(yes)), target.connector())
