"""The terminal side of a workflow's `Ui`, and the one place warnings are printed.

`TerminalUi` (`--format text`): output on stdout; notes, progress and warnings on stderr; plans
in colour on a terminal unless NO_COLOR (or `--no-color`); the confirmation prompt (`--yes`).
`JsonUi` (`--format json`): the same text on stderr, and on stdout one JSON document when the
command ends (`output`), whatever happened (README "JSON output").

Warnings (a plan's, a blueprint's, the options' from `warn_early`) go to stderr only, each
once per command, as `warning: TEXT` (TEXT as the blueprint or plan words it, code included).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import typer

from provision.cli.app import NO_COLOR
from provision.cli.confirm import ask
from provision.cli.reporter import StderrReporter

if TYPE_CHECKING:
    from provision.apply import ChangeResult
    from provision.model import Change, Plan
    from provision.verify import Check

JSON_FORMAT_VERSION = 1


def colour(stream: TextIO) -> bool:
    """Colour on `stream`: a terminal, no `--no-color`, and NO_COLOR unset or empty (see
    no-color.org)."""
    return stream.isatty() and not NO_COLOR.get() and not os.environ.get("NO_COLOR")


def warning_line(warning: object) -> str:
    text = str(warning)
    return text if "warning:" in text else f"warning: {text}"


_EARLY: ContextVar[tuple[str, ...]] = ContextVar("early_warnings", default=())
"""Warning lines told while the options were read, until the command ends."""


def warn_early(warning: object) -> None:
    """A warning found while the options are read, before the command's Ui exists: printed
    on stderr now, as `TerminalUi.warn` prints it; the command's Ui counts it as told (and a
    `JsonUi` lists it in the document's `warnings`)."""
    line = warning_line(warning)
    typer.echo(line, err=True)
    _EARLY.set((*_EARLY.get(), line))


@contextmanager
def command_run() -> Iterator[None]:
    """One command's run: the warnings `warn_early` tells in the block are its own."""
    token = _EARLY.set(())
    try:
        yield
    finally:
        _EARLY.reset(token)


class TerminalUi(StderrReporter):
    """A `provision.workflows.ui.Ui` on the terminal; `assume_yes` answers every question."""

    def __init__(self, assume_yes: bool = False) -> None:
        super().__init__()
        self.assume_yes = assume_yes
        self.warned: list[str] = list(_EARLY.get())

    def say(self, text: str) -> None:
        typer.echo(text)

    def note(self, text: str) -> None:
        typer.echo(text, err=True)

    def warn(self, warnings: Iterable[object]) -> None:
        for warning in warnings:
            line = warning_line(warning)
            if line not in self.warned:
                self.warned.append(line)
                typer.echo(line, err=True)

    def show_plan(self, plan: Plan, heading: str) -> None:
        from provision.outputs import plan_text

        typer.echo(plan_text.render(plan, color=colour(sys.stdout), heading=heading), nl=False)
        self.warn(plan.warnings)

    def show_checks(self, checks: Sequence[Check]) -> None:
        from provision.outputs import checks_text

        typer.echo(checks_text.render(checks), nl=False)

    def confirm(self, question: str, *, action: str, review: str) -> None:
        ask(question, action, review, self.assume_yes)

    def record(self, key: str, value: Any) -> None:
        """A value of the JSON document (`JsonUi`); text output has none."""


class JsonUi(TerminalUi):
    """Says everything on stderr and keeps what the JSON document holds: the plan (the last
    shown), each change's result, the checks, what was said, the warnings."""

    def __init__(self, command: str, assume_yes: bool = False) -> None:
        super().__init__(assume_yes)
        self.document: dict[str, Any] = {
            "format_version": JSON_FORMAT_VERSION,
            "command": command,
            "ok": True,
            "error": None,
            "warnings": self.warned,
            "messages": [],
        }

    def say(self, text: str) -> None:
        typer.echo(text, err=True)
        self.document["messages"].append(text)

    def show_plan(self, plan: Plan, heading: str) -> None:
        from provision.outputs import plan_json, plan_text

        typer.echo(plan_text.render(plan, color=colour(sys.stderr), heading=heading), err=True)
        self.warn(plan.warnings)
        self.record("plan", json.loads(plan_json.render(plan)))

    def show_checks(self, checks: Sequence[Check]) -> None:
        from provision.outputs import checks_text

        typer.echo(checks_text.render(checks), nl=False, err=True)
        self.record("checks", [check_json(c) for c in checks])
        self.document["ok"] = self.document["ok"] and all(c.ok for c in checks)

    def finished(self, change: Change, result: ChangeResult) -> None:
        super().finished(change, result)
        self.document.setdefault("results", []).append(
            {
                "address": str(change.address),
                "action": change.action.value,
                "state": result.state.value,
                "seconds": round(result.seconds, 3),
                "message": result.message,
            }
        )

    def record(self, key: str, value: Any) -> None:
        self.document[key] = value

    def output(self, error: BaseException | None) -> None:
        """Print the document on stdout; `error` ended the command (None: it succeeded)."""
        if error is not None:
            self.document["ok"] = False
            code = getattr(error, "exit_code", 1)
            self.document["error"] = None if isinstance(error, typer.Exit) else str(error)
            if isinstance(error, typer.Exit) and code == 0:
                self.document["ok"] = True
        typer.echo(json.dumps(self.document, indent=2, sort_keys=True))


def check_json(check: Check) -> dict[str, Any]:
    return {"check": check.check, "target": check.target, "ok": check.ok, "detail": check.detail}


@contextmanager
def terminal(output_format: str, command: str, *, yes: bool = False) -> Iterator[TerminalUi]:
    """The Ui for `--format` (`text` or `json`) of `command`; with json, the document is printed
    when the block ends, also when it raises (with `ok: false` and the error)."""
    if output_format != "json":
        yield TerminalUi(yes)
        return
    ui = JsonUi(command, yes)
    try:
        yield ui
    except (Exception, typer.Exit) as error:
        ui.output(error)
        raise
    ui.output(None)


def emit_text(text: str, out: Path | None, notes: Iterable[str] = ()) -> None:
    """`text` on stdout, or into the file `out` (replacing it; a note on stderr says so); then
    each of `notes` on stderr (`note: ...`)."""
    if out is None:
        typer.echo(text, nl=False)
    else:
        from provision.files import replace_regular

        replace_regular(out, text)
        typer.echo(f"wrote {out}", err=True)
    for note in notes:
        typer.echo(f"note: {note}", err=True)
