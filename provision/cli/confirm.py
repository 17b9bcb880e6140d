"""Asking before a command changes anything: the prompt (`--yes` answers it, see
`provision.cli.options`)."""

from __future__ import annotations

import sys

from provision.errors import ProvisionError


class NotConfirmedError(ProvisionError):
    """The user did not confirm (or could not be asked)."""


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
