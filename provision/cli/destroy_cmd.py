"""`provision destroy BLUEPRINT [--site SITE]`: remove what the blueprint made, safely (see
`provision.workflows.destroy`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from provision.cli.app import app
from provision.cli.confirm import YesOption, assumes_yes
from provision.cli.engine_flags import AllowOwnAccessOption, addresses
from provision.cli.target import (
    CredentialsOption,
    EmulatorOption,
    EndpointOption,
    ImpersonateOption,
    TargetOptions,
)


@app.command()
def destroy(
    blueprint: Annotated[Path, typer.Argument(help="The blueprint whose objects to remove.")],
    site: Annotated[
        str | None, typer.Option(help="Only this site's objects (its site file's entries).")
    ] = None,
    allow_delete: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-delete",
            metavar="ADDRESS",
            help="Also delete this object (KIND:NAME) although it holds data, or this dataset "
            "or project (never deleted otherwise). Repeatable.",
            rich_help_panel="Safety",
        ),
    ] = None,
    disable_services: Annotated[
        bool,
        typer.Option(
            "--disable-services",
            help="Also disable the blueprint's APIs (whole blueprint only).",
            rich_help_panel="Safety",
        ),
    ] = False,
    allow_remove_own_access: AllowOwnAccessOption = False,
    yes: YesOption = False,
    endpoint: EndpointOption = None,
    emulator: EmulatorOption = False,
    credentials: CredentialsOption = None,
    impersonate_service_account: ImpersonateOption = None,
) -> None:
    """Remove what the blueprint (or one site) made: owned, empty objects and the blueprint's
    IAM members; keep anything holding data unless named with --allow-delete.

    Exit codes: 0 done (also when nothing was to remove), 1 error or failed removal, 130
    interrupted.
    """
    from provision.cli.terminal import TerminalUi
    from provision.workflows.destroy import DestroyRequest
    from provision.workflows.destroy import destroy as run

    named = addresses(allow_delete)
    request = DestroyRequest(blueprint, site, named, disable_services, allow_remove_own_access)
    target = TargetOptions(endpoint, emulator, credentials, impersonate_service_account)
    if run(request, TerminalUi(assumes_yes(yes)), target.connector()).interrupted:
        raise typer.Exit(130)
