"""Flags shared by `plan` and `apply` that allow otherwise-refused changes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
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
        help="Run the blueprint's DICOM imports again even when already done.",
        rich_help_panel="Imports",
    ),
]
RerunOption = Annotated[
    bool,
    typer.Option(
        "--rerun",
        help="Make the blueprint's de-identified copies again even when already done.",
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
    rerun: bool = False,
) -> Flags:
    from provision.workflows.sequence import Flags

    return Flags(
        addresses(allow_delete), list(allow_disable or []), allow_own_access, reimport, rerun
    )
