"""The typer application every command module registers on, and the conventions every command
shares: `-h`/`--help`, `--version`, the global options (`--debug`, `--no-color`, accepted before
or after the command, see `provision.cli.options`), commands listed in the order of a day's work,
and flags shown without a type in help.

Command modules import only `typer` and the cli modules at top level; heavy imports (Google
clients, pydantic models, the emulator) happen inside command bodies so `provision --help` stays
fast.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup, TyperOption

COMMAND_ORDER = (
    "validate",
    "plan",
    "apply",
    "verify",
    "show",
    "export",
    "onboard",
    "destroy",
    "forget",
    "config",
    "viewer",
    "force-unlock",
    "emulator",
    "schema",
    "version",
)
"""How `provision --help` lists the commands: checking, planning and applying first, then
reading what is managed, sites, viewers, and the tools; a command not named here comes last."""


def _plain_flags(params: list[Any]) -> list[Any]:
    """Show flags (and `--help`) without a `<bool>` type in help: they take no value."""
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""
    return params


REIMPORT_ONLY = "--reimport-only"
"""Where `--reimport IMPORT` lands (see `Command.parse_args`)."""


def names_an_import(text: str) -> bool:
    """Whether the word after `--reimport` names an import rather than being the next
    argument: an import's address or name (`.../imports/HASH`) or a `gs://` URI."""
    return text.startswith("gs://") or "/imports/" in text


class Command(TyperCommand):
    """A command whose flags show no value type in help, and whose `--reimport` may name one
    import: `--reimport IMPORT` (when IMPORT is an import's address, name or `gs://` URI) or
    `--reimport=IMPORT`; plain `--reimport` still means every import."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_flags(super().get_params(ctx))

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not any(REIMPORT_ONLY in getattr(p, "opts", ()) for p in self.params):
            return super().parse_args(ctx, args)
        rewritten: list[str] = []
        pending = list(args)
        while pending:
            arg = pending.pop(0)
            if arg == "--":
                rewritten += [arg, *pending]
                break
            if arg.startswith("--reimport="):
                rewritten += [REIMPORT_ONLY, arg.partition("=")[2]]
            elif arg == "--reimport" and pending and names_an_import(pending[0]):
                rewritten += [REIMPORT_ONLY, pending.pop(0)]
            else:
                rewritten.append(arg)
        return super().parse_args(ctx, rewritten)


class Group(TyperGroup):
    """A group listing its commands in `COMMAND_ORDER`, whose flags show no value type."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_flags(super().get_params(ctx))

    def list_commands(self, ctx: Any) -> list[str]:
        names = list(super().list_commands(ctx))
        rank = {name: index for index, name in enumerate(COMMAND_ORDER)}
        return sorted(names, key=lambda name: rank.get(name, len(rank)))


NO_COLOR: ContextVar[bool] = ContextVar("no_color", default=False)
"""`--no-color` given, until the command ends (see `provision.cli.terminal.colour`)."""
_DEBUG = "provision.debug"


def apply_globals(context: typer.Context, debug: bool, no_color: bool) -> None:
    """Turn on `--no-color` and the `--debug` log, once per command and until it ends."""
    root = context.find_root()
    if no_color and not NO_COLOR.get():
        token = NO_COLOR.set(True)
        root.call_on_close(lambda: NO_COLOR.reset(token))
    if debug and not root.meta.get(_DEBUG):
        from provision.cli.debug import enable_debug

        root.meta[_DEBUG] = True
        root.call_on_close(enable_debug())


CONTEXT = {"help_option_names": ["-h", "--help"]}

app = typer.Typer(
    name="provision",
    help="Provision Google Cloud Healthcare imaging infrastructure from YAML blueprints.",
    cls=Group,
    context_settings=CONTEXT,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"provision {version('provision')}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    debug: bool = typer.Option(
        False,
        "--debug",
        envvar="PROVISION_DEBUG",
        help="Log on stderr, one line per Google request (method, URL, status, time; never "
        "headers, bodies or tokens). Also after the command.",
    ),
    no_color: bool = typer.Option(
        False,
        "--no-color",
        help="No colours in the output (also NO_COLOR=1). Also after the command.",
    ),
    version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_version, help="Print the version and exit."
    ),
) -> None:
    """Provision Google Cloud Healthcare imaging infrastructure from YAML blueprints."""
    apply_globals(ctx, debug, no_color)


def group(name: str, help_text: str) -> typer.Typer:
    """A command group (`provision NAME ...`) following the app's conventions."""
    sub = typer.Typer(help=help_text, cls=Group, no_args_is_help=True)
    app.add_typer(sub, name=name)
    return sub


emulator_app = group("emulator", "Run the local emulator of the Google APIs.")
config_app = group(
    "config", "Generate viewer configuration (OHIF, Orthanc) and the OAuth checklist."
)
