"""`provision version`."""

from __future__ import annotations

import typer

from provision.cli.options import command


@command()
def version() -> None:
    """Print the version of provision."""
    from importlib.metadata import version as package_version

    typer.echo(package_version("provision"))
