"""`provision apply (BLUEPRINT | PLANFILE)`: make the planned changes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from provision.cli.app import app
from provision.cli.confirm import YesOption, assumes_yes
from provision.cli.engine_flags import (
    AllowDeleteOption,
    AllowDisableOption,
    AllowOwnAccessOption,
    ReimportCommand,
    ReimportOnlyOption,
    ReimportOption,
    engine_flags,
)
from provision.cli.target import (
    CredentialsOption,
    EmulatorOption,
    EndpointOption,
    ImpersonateOption,
    TargetOptions,
)

LeaseWaitOption = Annotated[
    float,
    typer.Option(
        "--lease-wait",
        min=0,
        help="Seconds to wait while another apply holds the project's lease (0: fail at once).",
    ),
]


@app.command(cls=ReimportCommand)
def apply(
    source: Annotated[
        Path, typer.Argument(help="A blueprint YAML file, or a plan saved with `plan --out`.")
    ],
    yes: YesOption = False,
    allow_delete: AllowDeleteOption = None,
    allow_disable_service: AllowDisableOption = None,
    allow_remove_own_access: AllowOwnAccessOption = False,
    reimport: ReimportOption = False,
    reimport_only: ReimportOnlyOption = None,
    lease_wait: LeaseWaitOption = 0.0,
    endpoint: EndpointOption = None,
    emulator: EmulatorOption = False,
    credentials: CredentialsOption = None,
    impersonate_service_account: ImpersonateOption = None,
) -> None:
    """Apply a blueprint (plans, shows the plan, asks to confirm) or a saved plan.

    Writes happen under the project's single-writer lease (README "Single-writer lease"). A saved
    plan is planned again and refused unless that plan makes each of its decisions (see
    `provision.saved_plan`); the new plan is what is shown and applied. Exit codes: 0 success,
    1 failure (the summary lists done / failed / skipped), 130 interrupted.
    """
    from provision.cli.terminal import TerminalUi
    from provision.workflows.apply import apply as run

    flags = engine_flags(
        allow_delete, allow_disable_service, allow_remove_own_access, reimport, reimport_only
    )
    target = TargetOptions(endpoint, emulator, credentials, impersonate_service_account)
    ui = TerminalUi(assumes_yes(yes))
    if run(source, flags, ui, target.connector(), wait=lease_wait).interrupted:
        raise typer.Exit(130)
