"""`provision emulator serve`: run the local emulator of the Google APIs in the foreground."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from provision.cli.app import emulator_app
from provision.cli.options import command

Opt = typer.Option
SERVER_OPTIONS = frozenset({"host", "port", "state", "set_", "quiet"})
"""The options that are not emulator settings (the rest go to `from_command_line`)."""


@command(parent=emulator_app)
def serve(
    host: Annotated[str, Opt(help="Address to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, Opt(min=0, max=65535, help="Port (0 picks a free one).")] = 8765,
    state: Annotated[
        Path | None, Opt(help="SQLite file to keep state in (default: memory).")
    ] = None,
    latency_ms: Annotated[float, Opt(help="Added latency per request.")] = 0.0,
    latency_jitter_ms: Annotated[float, Opt(help="Random extra latency, up to.")] = 0.0,
    error_rate: Annotated[float, Opt(help="Probability a request fails at once.")] = 0.0,
    error_codes: Annotated[str, Opt(help="Injected HTTP codes (0: connection reset).")] = "503",
    errors_after_commit: Annotated[
        float, Opt(help="Probability a write commits, then fails.")
    ] = 0.0,
    seed: Annotated[int, Opt(help="Seed for ids, etags and fault dice.")] = 0,
    lro_polls: Annotated[int, Opt(help="Polls before an operation is done.")] = 1,
    lro_seconds: Annotated[float, Opt(help="Minimum operation duration.")] = 0.0,
    quotas: Annotated[bool, Opt(help="Enforce Google's default quotas.")] = False,
    profile: Annotated[
        str,
        Opt(
            help="Start from a timing profile: `google` (Google's latencies, operation times, "
            'propagation delays and quotas; README "Emulator"). Other options override it.'
        ),
    ] = "",
    set_: Annotated[
        list[str] | None,
        Opt(
            "--set",
            help="Any other setting, as KEY=VALUE (VALUE is JSON, or else a string); repeatable. "
            "E.g. --set service_enable_propagation_s=30 --set caller=user:me@example.com",
        ),
    ] = None,
    quiet: Annotated[bool, Opt(help="Do not log one line per request.")] = False,
) -> None:
    """Serve every emulated Google API at one base URL until interrupted."""
    chosen = {k: v for k, v in locals().items() if k not in SERVER_OPTIONS}
    from provision.emulator.server import serve_in_foreground

    try:
        serve_in_foreground(state, (host, port), chosen, list(set_ or []), log_requests=not quiet)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
