"""`provision emulator serve`: run the local emulator of the Google APIs in the foreground."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from provision.cli.app import emulator_app


@emulator_app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to listen on (0 picks a free one).")
    ] = 8765,
    state: Annotated[
        Path | None,
        typer.Option(help="SQLite file to keep state in across restarts (default: in memory)."),
    ] = None,
    latency_ms: Annotated[float, typer.Option(help="Added latency per request.")] = 0.0,
    latency_jitter_ms: Annotated[float, typer.Option(help="Random extra latency, up to.")] = 0.0,
    error_rate: Annotated[
        float, typer.Option(help="Probability a request fails before doing anything.")
    ] = 0.0,
    error_codes: Annotated[
        str, typer.Option(help="Comma list of injected HTTP codes (0 = connection reset).")
    ] = "503",
    errors_after_commit: Annotated[
        float, typer.Option(help="Probability a write commits, then answers with an error.")
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed for ids, etags and fault dice.")] = 0,
    lro_polls: Annotated[int, typer.Option(help="Polls before an operation is done.")] = 1,
    lro_seconds: Annotated[float, typer.Option(help="Minimum operation duration.")] = 0.0,
    quotas: Annotated[bool, typer.Option(help="Enforce Google's default quotas.")] = False,
    profile: Annotated[
        str,
        typer.Option(
            help="Start from a timing profile: `google` (Google's latencies, operation times, "
            'propagation delays and quotas; README "Emulator"). Other options override it.'
        ),
    ] = "",
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Any other setting, as KEY=VALUE (VALUE is JSON, or else a string); repeatable. "
            "E.g. --set service_enable_propagation_s=30 --set caller=user:me@example.com",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option(help="Do not log one line per request.")] = False,
) -> None:
    """Serve every emulated Google API at one base URL until interrupted."""
    from provision.emulator.core.settings import EmulatorSettings
    from provision.emulator.server import build

    try:
        codes = tuple(int(code) for code in error_codes.split(",") if code.strip())
    except ValueError:
        raise typer.BadParameter("--error-codes takes HTTP codes like 429,503") from None
    try:
        extra = dict(_setting(item) for item in set_ or [])
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    flags: dict[str, Any] = {
        "seed": seed,
        "latency_ms": latency_ms,
        "latency_jitter_ms": latency_jitter_ms,
        "error_rate": error_rate,
        "error_codes": codes or (503,),
        "errors_after_commit": errors_after_commit,
        "lro_polls": lro_polls,
        "lro_seconds": lro_seconds,
        "quotas": quotas,
    }
    if profile:  # the profile's values, then the options given (those not at their default)
        defaults = EmulatorSettings()
        flags = {"profile": profile} | {
            name: value for name, value in flags.items() if value != getattr(defaults, name)
        }
    try:
        settings = EmulatorSettings().updated(flags | extra)
    except (TypeError, ValueError) as error:
        raise typer.BadParameter(str(error)) from None
    try:
        running = build(state, host=host, port=port, settings=settings, log_requests=not quiet)
    except OSError as error:
        reason = error.strerror or str(error)
        raise typer.BadParameter(f"cannot listen on {host}:{port}: {reason}") from None
    where = f" (state in {state})" if state else " (state in memory)"
    typer.echo(f"provision emulator listening on {running.base_url}{where}", err=True)
    try:
        running.serve_forever()
    except KeyboardInterrupt:
        typer.echo("stopped", err=True)
    finally:
        running.stop()


def _setting(item: str) -> tuple[str, Any]:
    """`KEY=VALUE` -> (key, value); VALUE is parsed as JSON when it is JSON."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw
    return key.strip(), value
