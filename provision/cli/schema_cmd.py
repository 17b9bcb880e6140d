"""`provision schema`: print the JSON Schema of blueprints (for editors and linters)."""

from __future__ import annotations

from typing import Annotated

import typer

from provision.cli.options import command


@command()
def schema(
    site: Annotated[
        bool, typer.Option("--site", help="Print the schema of a site file instead.")
    ] = False,
) -> None:
    """Print the JSON Schema of a blueprint document (or of a site file)."""
    import json

    from provision.blueprint.schema import Blueprint, Site, json_schema

    typer.echo(json.dumps(json_schema(Site if site else Blueprint), indent=2))
