"""`provision verify BLUEPRINT`: check that the provisioned site works (reads only)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from provision.cli.app import app
from provision.cli.target import (
    CredentialsOption,
    EmulatorOption,
    EndpointOption,
    ImpersonateOption,
    TargetOptions,
    connect,
)

if TYPE_CHECKING:
    from provision.verify import Check


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
    from provision.blueprint.loader import load
    from provision.resources.base import Context
    from provision.verify import verify_blueprint

    loaded = load(blueprint)
    target = TargetOptions(endpoint, emulator, credentials, impersonate_service_account)
    with connect(target) as connection:
        checks = verify_blueprint(loaded, Context.create(connection.api))
    typer.echo(render(checks), nl=False)
    if not all(check.ok for check in checks):
        raise typer.Exit(1)


def short(name: str) -> str:
    """`imaging/dicomStores/main` for `projects/p/locations/l/datasets/imaging/dicomStores/main`."""
    parts = name.split("/")
    if len(parts) > 5 and parts[0] == "projects" and parts[2] == "locations":
        return "/".join(parts[5:])
    return name


def render(checks: list[Check]) -> str:
    """A PASS/FAIL table, then a one-line summary."""
    rows = [("", "CHECK", "OBJECT", "DETAIL")]
    rows += [("PASS" if c.ok else "FAIL", c.check, short(c.target), c.detail) for c in checks]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
        + "  "
        + row[3]
        for row in rows
    ]
    failed = sum(1 for c in checks if not c.ok)
    summary = (
        f"Verify passed: {len(checks)} check{'' if len(checks) == 1 else 's'}."
        if not failed
        else f"Verify failed: {failed} of {len(checks)} checks failed."
    )
    return "\n".join([*lines, "", summary]) + "\n"
