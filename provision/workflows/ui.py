"""What a workflow needs from its caller: a `Ui` to tell and ask the user, and a way to reach
Google (`Connect`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

from provision.apply import Reporter

if TYPE_CHECKING:
    from provision.gcp.api import GoogleApi
    from provision.model import Plan
    from provision.verify import Check

Connect = Callable[[], "AbstractContextManager[GoogleApi]"]
"""Opens the target (Google, an endpoint, or an emulator the caller starts) for the block."""

APPLY_QUESTION = "\nApply these changes?"


class Ui(Reporter, Protocol):
    """How a workflow talks to the user: the command's output, notes about the run, warnings,
    plans and checks to show, values of the command's JSON document, a question to confirm,
    and (as an apply `Reporter`) progress of changes."""

    def say(self, text: str) -> None:
        """One line (or lines) of the command's output."""

    def note(self, text: str) -> None:
        """One line about the run (the lease, files written), apart from the output."""

    def warn(self, warnings: Iterable[object]) -> None:
        """Warnings (a blueprint's, e.g. `LoadedBlueprint.warnings`), each told once per run;
        `show_plan` tells the plan's own."""

    def show_plan(self, plan: Plan, heading: str) -> None:
        """Show `plan` under `heading` (e.g. `Planned removals for BLUEPRINT`) and tell its
        warnings."""

    def show_checks(self, checks: Sequence[Check]) -> None:
        """Show the result of `verify`'s checks."""

    def record(self, key: str, value: Any) -> None:
        """A value of the command's JSON document (plain JSON data; text output ignores it)."""

    def confirm(self, question: str, *, action: str, review: str) -> None:
        """Ask `question`; return only when the user agrees to `action`, else raise a
        ProvisionError saying nothing was changed (`review`: what to look at first)."""
