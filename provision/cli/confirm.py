"""Asking before a command changes anything: `--yes`, PROVISION_YES, and the prompt."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from provision.errors import ProvisionError

YesOption = Annotated[
    bool,
    typer.Option("--yes", "-y", help="Do not ask for confirmation (also PROVISION_YES=1)."),
]


class NotConfirmedError(ProvisionError):
    """The user did not confirm (or could not be asked)."""


def assumes_yes(yes: bool) -> bool:
    """`--yes`, or PROVISION_YES=1 (also `true`, `yes`)."""
    return yes or os.environ.get("PROVISION_YES", "") in ("1", "true", "yes")


def confirm(assume_yes: bool) -> None:
    """Ask before applying the plan shown; without a terminal, refuse unless --yes."""
    ask("\nApply these changes?", "apply", "the plan", assume_yes)


def ask(question: str, action: str, review: str, assume_yes: bool) -> None:
    """Ask `question` on the terminal (only 'yes' goes on); without a terminal, refuse to
    `action` unless --yes / PROVISION_YES=1. Raises NotConfirmedError."""
    if assume_yes:
        return
    if not sys.stdin.isatty():
        raise NotConfirmedError(
            f"refusing to {action} without confirmation: stdin is not a terminal. "
            f"Review {review}, then pass --yes (or set PROVISION_YES=1)."
        )
    print(f"{question} Only 'yes' is accepted: ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline().strip()
    if answer != "yes":
        raise NotConfirmedError(f"{action} cancelled; nothing was changed")
