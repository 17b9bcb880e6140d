"""The typer application every command module registers on.

Command modules import only `typer` and this module at top level; heavy imports (Google clients,
pydantic models, the emulator) happen inside command bodies so `provision --help` stays fast.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="provision",
    help="Provision Google Cloud Healthcare imaging infrastructure from YAML blueprints.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

emulator_app = typer.Typer(help="Run the local emulator of the Google APIs.", no_args_is_help=True)
app.add_typer(emulator_app, name="emulator")
