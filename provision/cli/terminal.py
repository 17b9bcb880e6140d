"""The terminal side of a workflow's `Ui`: output on stdout, notes and progress on stderr, plans
in colour on a terminal, and the confirmation prompt (`--yes`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import typer

from provision.cli.confirm import ask
from provision.cli.reporter import StderrReporter

if TYPE_CHECKING:
    from provision.model import Plan
    from provision.verify import Check


class TerminalUi(StderrReporter):
    """A `provision.workflows.ui.Ui` on the terminal; `assume_yes` answers every question."""

    def __init__(self, assume_yes: bool = False) -> None:
        super().__init__()
        self.assume_yes = assume_yes

    def say(self, text: str) -> None:
        typer.echo(text)

    def note(self, text: str) -> None:
        typer.echo(text, err=True)

    def show_plan(self, plan: Plan, heading: str) -> None:
        from provision.outputs import plan_text

        typer.echo(plan_text.render(plan, color=sys.stdout.isatty(), heading=heading), nl=False)

    def show_checks(self, checks: Sequence[Check]) -> None:
        from provision.outputs import checks_text

        typer.echo(checks_text.render(checks), nl=False)

    def confirm(self, question: str, *, action: str, review: str) -> None:
        ask(question, action, review, self.assume_yes)
