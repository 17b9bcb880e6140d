"""The options more than one command takes, declared once, and `command`, which registers a
command with them.

Every command gets the global options (`--debug`, `--no-color`), so they work before or after
the command. A command parameter annotated with one of the `GROUPS` types receives that value,
built from the group's options, which `command` adds to the command in its place:

* `target: TargetOptions`: where Google is (`--endpoint`, `--emulator`, `--emulator-state`,
  `--credentials`, `--impersonate-service-account`, and `--emulator-url`, a deprecated alias of
  `--endpoint`);
* `flags: Flags`: the safety flags of plan and apply (`--allow-delete`, `--allow-disable-service`,
  `--allow-remove-own-access`), `--reimport` and `--rerun`.

A new shared option is one `Annotated` alias here; a new group is one entry in `GROUPS`.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from provision.cli.app import REIMPORT_ONLY, Command, app, apply_globals
from provision.cli.target import TargetOptions
from provision.errors import ProvisionError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from provision.workflows.sequence import Flags

F = TypeVar("F", bound=Callable[..., None])


class Format(StrEnum):
    """`--format` of validate, apply, verify, destroy and show."""

    text = "text"
    json = "json"


class PlanFormat(StrEnum):
    """`--format` of plan."""

    text = "text"
    json = "json"
    markdown = "markdown"


class OptionConflictError(ProvisionError):
    """Two options that cannot be used together (the message names both)."""


def conflict(first: str, second: str, why: str) -> OptionConflictError:
    return OptionConflictError(f"{first} and {second} cannot be used together: {why}")


# Arguments and options several commands take.
BlueprintArg = Annotated[Path, typer.Argument(help="The blueprint YAML file.", show_default=False)]
SiteOption = Annotated[
    str | None,
    typer.Option(
        "--site", help="Only this site's objects (and what they depend on).", show_default=False
    ),
]
FormatOption = Annotated[
    Format, typer.Option("--format", help="Output format (json: one document on stdout).")
]
YesOption = Annotated[
    bool,
    typer.Option("--yes", "-y", help="Do not ask for confirmation (also PROVISION_YES=1)."),
]
LeaseWaitOption = Annotated[
    float,
    typer.Option(
        "--lease-wait",
        min=0,
        help="Seconds to wait while another run holds the project's lease (0: fail at once).",
    ),
]
OutFileOption = Annotated[
    Path | None,
    typer.Option("--out", help="Write to this file instead of stdout.", show_default=False),
]


def assumes_yes(yes: bool) -> bool:
    """`--yes`, or PROVISION_YES=1 (also `true`, `yes`)."""
    return yes or os.environ.get("PROVISION_YES", "") in ("1", "true", "yes")


# The global options, on every command (and on `provision` itself, see `provision.cli.app`).
_GLOBAL = "Global"
_GLOBALS: dict[str, Any] = {
    "debug": Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar="PROVISION_DEBUG",
            help="Log on stderr, one line per Google request (never headers, bodies or tokens).",
            rich_help_panel=_GLOBAL,
        ),
    ],
    "no_color": Annotated[
        bool,
        typer.Option("--no-color", help="No colours (also NO_COLOR=1).", rich_help_panel=_GLOBAL),
    ],
}

# The target options.
_TARGET = "Target"
_TARGET_OPTIONS: dict[str, Any] = {
    "endpoint": Annotated[
        str | None,
        typer.Option(
            "--endpoint",
            envvar="PROVISION_ENDPOINT",
            help="Base URL of an emulator or proxy serving Google's API paths.",
            rich_help_panel=_TARGET,
            show_default=False,
        ),
    ],
    "emulator": Annotated[
        bool,
        typer.Option(
            "--emulator",
            help="Run against the bundled emulator (state in .provision/emulator.db).",
            rich_help_panel=_TARGET,
        ),
    ],
    "emulator_state": Annotated[
        Path | None,
        typer.Option(
            "--emulator-state",
            help="Like --emulator, with the emulator's state in this file.",
            rich_help_panel=_TARGET,
            show_default=False,
        ),
    ],
    "credentials": Annotated[
        Path | None,
        typer.Option(
            "--credentials",
            help="Service-account key file (default: Application Default Credentials).",
            rich_help_panel=_TARGET,
            show_default=False,
        ),
    ],
    "impersonate_service_account": Annotated[
        str | None,
        typer.Option(
            "--impersonate-service-account",
            help="Impersonate this service account (e-mail).",
            rich_help_panel=_TARGET,
            show_default=False,
        ),
    ],
    "emulator_url": Annotated[
        str | None,
        typer.Option("--emulator-url", hidden=True, help="Deprecated: use --endpoint."),
    ],
}


def _target(values: dict[str, Any]) -> TargetOptions:
    endpoint = values["endpoint"]
    if values["emulator_url"] is not None:
        if endpoint is not None and endpoint != values["emulator_url"]:
            raise conflict(
                "--emulator-url", "--endpoint", "--emulator-url is --endpoint's old name"
            )
        from provision.blueprint.warning_codes import EMULATOR_URL_DEPRECATED, tagged
        from provision.cli.terminal import warn_early

        warn_early(tagged("--emulator-url is deprecated; use --endpoint", EMULATOR_URL_DEPRECATED))
        endpoint = values["emulator_url"]
    return TargetOptions(
        endpoint=endpoint,
        emulator=values["emulator"],
        credentials=values["credentials"],
        impersonate=values["impersonate_service_account"],
        emulator_state=values["emulator_state"],
    )


# The safety flags of plan and apply (and destroy's), --reimport and --rerun.
_SAFETY = "Safety"
AllowOwnAccessOption = Annotated[
    bool,
    typer.Option(
        "--allow-remove-own-access",
        help="Allow removing the running identity from an IAM-admin role.",
        rich_help_panel=_SAFETY,
    ),
]
DestroyAllowDeleteOption = Annotated[
    list[str] | None,
    typer.Option(
        "--allow-delete",
        metavar="ADDRESS",
        help="Also delete this object (KIND:NAME) although it holds data, or this dataset "
        "or project (never deleted otherwise). Repeatable.",
        rich_help_panel=_SAFETY,
    ),
]
DisableServicesOption = Annotated[
    bool,
    typer.Option(
        "--disable-services",
        help="Also disable the blueprint's APIs (whole blueprint only).",
        rich_help_panel=_SAFETY,
    ),
]
_FLAG_OPTIONS: dict[str, Any] = {
    "allow_delete": Annotated[
        list[str] | None,
        typer.Option(
            "--allow-delete",
            metavar="ADDRESS",
            help="Allow deleting this object (KIND:NAME) when the blueprint no longer lists it.",
            rich_help_panel=_SAFETY,
        ),
    ],
    "allow_disable_service": Annotated[
        list[str] | None,
        typer.Option(
            "--allow-disable-service",
            metavar="SERVICE",
            help="Allow disabling this enabled API when the blueprint does not list it.",
            rich_help_panel=_SAFETY,
        ),
    ],
    "allow_remove_own_access": AllowOwnAccessOption,
    "reimport": Annotated[
        bool,
        typer.Option(
            "--reimport",
            help="Run the blueprint's DICOM imports again even when already done; "
            "`--reimport IMPORT` (an import's address, name or gs:// URI; repeatable) runs only "
            "that one.",
            rich_help_panel="Imports",
        ),
    ],
    "rerun": Annotated[
        bool,
        typer.Option(
            "--rerun",
            help="Make the blueprint's de-identified copies again even when already done.",
            rich_help_panel="Imports",
        ),
    ],
    "reimport_only": Annotated[
        list[str] | None,
        typer.Option(REIMPORT_ONLY, metavar="IMPORT", hidden=True),
    ],
}


def addresses(allow_delete: Sequence[str] | None, option: str = "--allow-delete") -> list[str]:
    """The --allow-delete addresses; a usage error for one that is not `KIND:NAME`."""
    from provision.model import Address

    for text in allow_delete or []:
        try:
            Address.parse(text)
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint=option) from None
    return list(allow_delete or [])


def _flags(values: dict[str, Any]) -> Flags:
    from provision.workflows.sequence import Flags

    return Flags(
        addresses(values["allow_delete"]),
        list(values["allow_disable_service"] or []),
        values["allow_remove_own_access"],
        reimport=values["reimport"],
        reimport_only=list(values["reimport_only"] or []),
        rerun=values["rerun"],
    )


@dataclass(frozen=True)
class OptionGroup:
    """Options that reach a command as one value (built by `build` from their values)."""

    options: Mapping[str, Any]
    """Parameter name -> `Annotated` type with its `typer.Option`."""
    build: Callable[[dict[str, Any]], Any]
    defaults: Mapping[str, Any]


def _defaults(options: Mapping[str, Any]) -> dict[str, Any]:
    return {name: False if kind.__origin__ is bool else None for name, kind in options.items()}


GROUPS: Mapping[str, OptionGroup] = {
    "TargetOptions": OptionGroup(_TARGET_OPTIONS, _target, _defaults(_TARGET_OPTIONS)),
    "Flags": OptionGroup(_FLAG_OPTIONS, _flags, _defaults(_FLAG_OPTIONS)),
}
"""Parameter type (as written in the command's signature) -> its options."""


_CONTEXT = "provision_context"


def command(name: str | None = None, *, parent: typer.Typer = app) -> Callable[[F], F]:
    """Register `fn` as the command `name` (default: its name) of `parent`, with the global
    options and, in place of each parameter annotated with a `GROUPS` type, that group's
    options (see the module doc)."""

    def register(fn: F) -> F:
        parent.command(name, cls=Command)(_with_shared_options(fn))
        return fn

    return register


def _with_shared_options(fn: Callable[..., None]) -> Callable[..., None]:
    signature = inspect.signature(fn)
    grouped: dict[str, OptionGroup] = {}
    params: list[inspect.Parameter] = []
    for param in signature.parameters.values():
        written = param.annotation
        option_group = GROUPS.get(written if isinstance(written, str) else written.__name__)
        if option_group is None:
            kind = eval(written, fn.__globals__) if isinstance(written, str) else written
            params.append(param.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=kind))
            continue
        grouped[param.name] = option_group
        params += _parameters(option_group.options, option_group.defaults)
    params += _parameters(_GLOBALS, _defaults(_GLOBALS))
    params.append(
        inspect.Parameter(_CONTEXT, inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context)
    )

    @wraps(fn)
    def run(**values: Any) -> None:
        from provision.cli.terminal import command_run

        apply_globals(values.pop(_CONTEXT), values.pop("debug"), values.pop("no_color"))
        with command_run():
            for param_name, option_group in grouped.items():
                mine = {key: values.pop(key) for key in option_group.options}
                values[param_name] = option_group.build(mine)
            fn(**values)

    run.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in params}
    return run


def _parameters(options: Mapping[str, Any], defaults: Mapping[str, Any]) -> list[inspect.Parameter]:
    return [
        inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, default=defaults[name], annotation=kind
        )
        for name, kind in options.items()
    ]
