"""Flags shared by `plan` and `apply` that allow otherwise-refused changes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from provision.gcp.api import GoogleApi
    from provision.resources.base import Options

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


def engine_options(
    api: GoogleApi,
    allow_delete: list[str] | None,
    allow_disable: list[str] | None,
    allow_own_access: bool,
    reimport: bool = False,
) -> Options:
    from provision.model import Address
    from provision.resources.base import Options

    for text in allow_delete or []:
        try:
            Address.parse(text)
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint="--allow-delete") from None
    return Options(
        allow_delete=frozenset(allow_delete or []),
        allow_disable_services=frozenset(allow_disable or []),
        allow_remove_own_access=allow_own_access,
        caller=api.identity.member,
        reimport=reimport,
    )
