"""`provision destroy BLUEPRINT [--site SITE]`: remove what the blueprint made, safely (see
`provision.workflows.destroy`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from provision.cli.options import (
    AllowOwnAccessOption,
    BlueprintArg,
    DestroyAllowDeleteOption,
    DisableServicesOption,
    Format,
    FormatOption,
    LeaseWaitOption,
    SiteOption,
    YesOption,
    addresses,
    assumes_yes,
    command,
)

if TYPE_CHECKING:
    from provision.cli.target import TargetOptions


@command()
def destroy(
    blueprint: BlueprintArg,
    *,
    target: TargetOptions,
    site: SiteOption = None,
    allow_delete: DestroyAllowDeleteOption = None,
    disable_services: DisableServicesOption = False,
    allow_remove_own_access: AllowOwnAccessOption = False,
    yes: YesOption = False,
    lease_wait: LeaseWaitOption = 0.0,
    output_format: FormatOption = Format.text,
) -> None:
    """Remove what the blueprint (or one site) made: owned, empty objects and the blueprint's
    IAM members; keep anything holding data unless named with --allow-delete.

    Exit codes: 0 done (also when nothing was to remove), 1 error or failed removal, 130
    interrupted.
    """
    from provision.cli.terminal import terminal
    from provision.workflows.destroy import DestroyRequest
    from provision.workflows.destroy import destroy as run

    named = addresses(allow_delete)
    request = DestroyRequest(
        blueprint, site, named, disable_services, allow_remove_own_access, lease_wait
    )
    with terminal(output_format, "destroy", yes=assumes_yes(yes)) as ui:
        if run(request, ui, target.connector()).interrupted:
            raise typer.Exit(130)
