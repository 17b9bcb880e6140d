"""Render the `validate --check-permissions` results as text: one row per permission, a summary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from provision.permissions import Result

MARKS = {True: "ok", False: "MISSING", None: "unchecked"}


def render(results: Sequence[Result], grant: Sequence[str] = ()) -> str:
    """The table and the summary line (naming the roles to `grant` when some are missing);
    ends with a newline."""
    rows = [("RESULT", "KIND", "PERMISSION", "CHECKED ON", "OBJECT / NOTE")]
    for result in results:
        about = result.requirement.target
        if result.note:
            about += f" ({result.note})"
        where = result.requirement.resource or "-"
        rows.append((MARKS[result.held], result.requirement.kind, result.permission, where, about))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[4]]).rstrip())
    missing = sum(1 for r in results if r.held is False)
    unchecked = sum(1 for r in results if r.held is None)
    held = len(results) - missing - unchecked
    summary = f"Permissions: {held} held, {missing} missing, {unchecked} not checked."
    if missing:
        summary += " Grant: " + "; ".join(grant) + "."
    return "\n".join([*lines, summary]) + "\n"
