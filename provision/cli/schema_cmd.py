"""`provision schema`: print the JSON Schema of blueprints (for editors and linters)."""

from __future__ import annotations

import typer

from provision.cli.app import app


@app.command()
def schema(
    site: bool = typer.Option(False, "--site", help="Print the schema of a site file instead."),
) -> None:
    """Print the JSON Schema of a blueprint document (or of a site file)."""
    import json

    from provision.blueprint.schema import Blueprint, Site, json_schema

    typer.echo(json.dumps(json_schema(Site if site else Blueprint), indent=2))
