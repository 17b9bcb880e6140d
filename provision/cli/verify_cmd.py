"""`provision verify BLUEPRINT`: check that the provisioned site works (reads only)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from provision.cli.app import app
from provision.cli.target import (
    CredentialsOption,
    EmulatorOption,
    EndpointOption,
    ImpersonateOption,
    TargetOptions,
)


@app.command()
def verify(
    blueprint: Annotated[Path, typer.Argument(help="The blueprint YAML file.")],
    endpoint: EndpointOption = None,
    emulator: EmulatorOption = False,
    credentials: CredentialsOption = None,
    impersonate_service_account: ImpersonateOption = None,
) -> None:
    """Check what the site needs to work: DICOMweb answers on every store, imports done with
    studies present, the Healthcare service agent can read every import bucket, and every
    declared dataset / store IAM member holds its role. Exit 0 when all pass, 1 otherwise."""
    from provision.cli.terminal import TerminalUi
    from provision.workflows.inspect import verify as run

    target = TargetOptions(endpoint, emulator, credentials, impersonate_service_account)
    checks = run(blueprint, target.connector())
    TerminalUi().show_checks(checks)
    if not all(check.ok for check in checks):
        raise typer.Exit(1)
