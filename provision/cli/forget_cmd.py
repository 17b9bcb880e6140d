"""`provision forget BLUEPRINT ADDRESS...`: stop plans mentioning objects the blueprint dropped."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from provision.cli.options import command


@command()
def forget(
    blueprint: Annotated[Path, typer.Argument(help="The blueprint YAML file to edit.")],
    addresses: Annotated[
        list[str],
        typer.Argument(help="Objects (KIND:NAME, as the plan's `forget` lines name them)."),
    ],
) -> None:
    """Add objects the blueprint no longer declares to its `forget` list, so plans stop showing
    them (they are left as they are). Edits the file only; talks to nobody."""
    from provision.workflows.forget import forget as run

    added = run(blueprint, addresses)
    for address in added:
        typer.echo(f"forgotten: {address}")
    if not added:
        typer.echo("nothing to add: every address is in the forget list already")
