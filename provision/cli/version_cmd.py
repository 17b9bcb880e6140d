"""`provision version`."""

from __future__ import annotations

import typer

from provision.cli.app import app


@app.command()
def version() -> None:
    """Print the version of provision."""
    from importlib.metadata import version as package_version

    typer.echo(package_version("provision"))
