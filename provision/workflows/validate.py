"""`validate`: check a blueprint without Google, and with a connection, whether the applying
identity may apply it. Imports no Google client unless it is asked to connect."""

from __future__ import annotations

from pathlib import Path

from provision.blueprint.loader import load
from provision.blueprint.summary import summarize
from provision.errors import BlueprintError, Diagnostic
from provision.files import shown
from provision.workflows.ui import Connect, Ui


def validate(blueprint: Path, ui: Ui, connect: Connect | None = None) -> bool:
    """Check the blueprint and tell `ui` every problem (notes) and its warnings; with
    `connect`, also whether the applying identity holds what apply needs. True when it is valid
    (and, with `connect`, nothing is missing). Records `valid`, `blueprint`, `summary`,
    `diagnostics`, `acknowledged` (how many warnings the blueprint's `acknowledge` silenced)
    and, with `connect`, `permissions`."""
    ui.record("blueprint", shown(blueprint))
    try:
        loaded = load(blueprint)
    except BlueprintError as error:
        for diagnostic in error.diagnostics:
            ui.note(str(diagnostic))
        ui.record("valid", False)
        ui.record("diagnostics", [_diagnostic(d) for d in error.diagnostics])
        errors = sum(1 for d in error.diagnostics if d.severity == "error")
        noun = "problem" if errors == 1 else "problems"
        ui.note(f"invalid: {shown(blueprint)} ({errors} {noun})")
        return False
    ui.warn(loaded.warnings)
    ui.record("valid", True)
    ui.record("diagnostics", [_diagnostic(d) for d in loaded.warnings])
    ui.record("summary", summarize(loaded.blueprint))
    ui.record("acknowledged", loaded.acknowledged)
    quiet = f"; {loaded.acknowledged} acknowledged warning(s)" if loaded.acknowledged else ""
    ui.say(f"ok: {shown(blueprint)} ({summarize(loaded.blueprint)}{quiet})")
    if connect is None:
        return True
    from provision.outputs import permissions_text
    from provision.workflows.inspect import check_permissions

    found = check_permissions(loaded, connect)
    ui.say(f"Permissions of {found.who} on {found.target}:")
    ui.say(permissions_text.render(found.results, found.grant).rstrip("\n"))
    ui.record("permissions", found.to_json())
    return not found.missing


def _diagnostic(diagnostic: Diagnostic) -> dict[str, object]:
    return {
        "severity": diagnostic.severity,
        "file": diagnostic.file,
        "line": diagnostic.line,
        "column": diagnostic.column,
        "field": diagnostic.path,
        "message": diagnostic.message,
    }
