"""`provision force-unlock BLUEPRINT RUN_ID`: free the project's lease that a run holds and will
not release (its machine crashed), instead of waiting for the lease to expire."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from provision.cli.app import app
from provision.cli.confirm import YesOption, assumes_yes
from provision.cli.target import (
    CredentialsOption,
    EmulatorOption,
    EndpointOption,
    ImpersonateOption,
    TargetOptions,
)


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
    from provision.cli.terminal import TerminalUi
    from provision.workflows.unlock import force_unlock as run

    target = TargetOptions(endpoint, emulator, credentials, impersonate_service_account)
    run(blueprint, run_id, TerminalUi(assumes_yes(yes)), target.connector())
