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


@app.callback()
def main(
    ctx: typer.Context,
    debug: bool = typer.Option(
        False,
        "--debug",
        envvar="PROVISION_DEBUG",
        help="Log on stderr, one line per Google request (method, URL, status, time; never "
        "headers, bodies or tokens).",
    ),
) -> None:
    """Provision Google Cloud Healthcare imaging infrastructure from YAML blueprints."""
    if debug:
        from provision.cli.debug import enable_debug

        ctx.call_on_close(enable_debug())


emulator_app = typer.Typer(help="Run the local emulator of the Google APIs.", no_args_is_help=True)
app.add_typer(emulator_app, name="emulator")
