"""Flags shared by `plan` and `apply` that allow otherwise-refused changes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from typer.core import TyperCommand

if TYPE_CHECKING:
    from typer._click import Context

    from provision.workflows.sequence import Flags

AllowDeleteOption = Annotated[
    list[str] | None,
    typer.Option(
        "--allow-delete",
        metavar="ADDRESS",
        help="Allow deleting this object (KIND:NAME) when the blueprint no longer lists it.",
        rich_help_panel="Safety",
    ),
]
AllowDisableOption = Annotated[
    list[str] | None,
    typer.Option(
        "--allow-disable-service",
        metavar="SERVICE",
        help="Allow disabling this enabled API when the blueprint does not list it.",
        rich_help_panel="Safety",
    ),
]
AllowOwnAccessOption = Annotated[
    bool,
    typer.Option(
        "--allow-remove-own-access",
        help="Allow removing the running identity from an IAM-admin role.",
        rich_help_panel="Safety",
    ),
]
ReimportOption = Annotated[
    bool,
    typer.Option(
        "--reimport",
        help="Run the blueprint's DICOM imports again even when already done; "
        "`--reimport IMPORT` (an import's address, name or gs:// URI; repeatable) runs only "
        "that one.",
        rich_help_panel="Imports",
    ),
]


def addresses(allow_delete: list[str] | None) -> list[str]:
    """The --allow-delete addresses; a usage error for one that is not `KIND:NAME`."""
    from provision.model import Address

    for text in allow_delete or []:
        try:
            Address.parse(text)
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint="--allow-delete") from None
    return list(allow_delete or [])


def engine_flags(
    allow_delete: list[str] | None,
    allow_disable: list[str] | None,
    allow_own_access: bool,
    reimport: bool = False,
    reimport_only: list[str] | None = None,
) -> Flags:
    from provision.workflows.sequence import Flags

    return Flags(
        addresses(allow_delete),
        list(allow_disable or []),
        allow_own_access,
        reimport,
        list(reimport_only or []),
    )


ReimportOnlyOption = Annotated[
    list[str] | None,
    typer.Option("--reimport-only", metavar="IMPORT", hidden=True),
]
"""Where `--reimport IMPORT` lands (see `ReimportCommand`)."""


def names_an_import(text: str) -> bool:
    """Whether the word after `--reimport` names an import rather than being the next
    argument: an import's address or name (`.../imports/HASH`) or a `gs://` URI."""
    return text.startswith("gs://") or "/imports/" in text


class ReimportCommand(TyperCommand):
    """A command whose `--reimport` may name one import: `--reimport IMPORT` (when IMPORT is
    an import's address, name or `gs://` URI) or `--reimport=IMPORT`; plain `--reimport` still
    means every import."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        rewritten: list[str] = []
        pending = list(args)
        while pending:
            arg = pending.pop(0)
            if arg == "--":
                rewritten += [arg, *pending]
                break
            if arg.startswith("--reimport="):
                rewritten += ["--reimport-only", arg.partition("=")[2]]
            elif arg == "--reimport" and pending and names_an_import(pending[0]):
                rewritten += ["--reimport-only", pending.pop(0)]
            else:
                rewritten.append(arg)
        return super().parse_args(ctx, rewritten)
