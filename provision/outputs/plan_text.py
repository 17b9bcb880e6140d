"""Render a Plan as text, like Terraform: `+` create, `~` update, `-` delete, `.` forget,
`>` run, `!` manual step (with its checklist), then one summary line."""

from __future__ import annotations

import json
from typing import Any

from provision.model import MANUAL_CHECKLIST_KEY, SYMBOLS, Action, Change, FieldDiff, Plan
from provision.resources.symbols import display

_COLORS = {
    Action.CREATE: "\033[32m",
    Action.UPDATE: "\033[33m",
    Action.DELETE: "\033[31m",
    Action.FORGET: "\033[2m",
    Action.RUN: "\033[36m",
    Action.MANUAL: "\033[35m",
}
_RESET = "\033[0m"


def summary_line(plan: Plan) -> str:
    """`Plan: 3 to create, 1 to update, 0 to delete, 1 to run, 2 manual steps.`"""
    counts = plan.counts()
    parts = [
        f"{counts.get(Action.CREATE, 0)} to create",
        f"{counts.get(Action.UPDATE, 0)} to update",
        f"{counts.get(Action.DELETE, 0)} to delete",
    ]
    if counts.get(Action.FORGET, 0):
        parts.append(f"{counts[Action.FORGET]} to forget")
    parts.append(f"{counts.get(Action.RUN, 0)} to run")
    manual = counts.get(Action.MANUAL, 0)
    parts.append(f"{manual} manual step" + ("" if manual == 1 else "s"))
    return "Plan: " + ", ".join(parts) + "."


def default_heading(plan: Plan) -> str:
    """`Planned changes for BLUEPRINT`."""
    return f"Planned changes for {plan.blueprint_path}"


def visible_changes(plan: Plan) -> list[Change]:
    return [c for c in plan.changes if c.action is not Action.NOOP]


def render(plan: Plan, *, color: bool = False, heading: str | None = None) -> str:
    """The whole text plan, ending with a newline. `heading` names what is planned (default
    `Planned changes for BLUEPRINT`). The plan's warnings are not part of it: the CLI prints
    them on stderr (`provision.cli.terminal`)."""
    changes = visible_changes(plan)
    lines: list[str] = []
    if not changes:
        lines.append("No changes. The live state matches the blueprint.")
    elif not plan.has_changes and all(c.action is Action.MANUAL for c in changes):
        lines.append("No changes. The live state matches the blueprint.")
        lines.append("")
        lines.append("Manual steps (no API can do these; check each is done):")
        lines.append("")
        for change in changes:
            lines += change_lines(change, color=color)
    else:
        lines.append(f"{heading or default_heading(plan)}:")
        lines.append("")
        for change in changes:
            lines += change_lines(change, color=color)
        lines.append("")
        lines.append(summary_line(plan))
    return "\n".join(lines) + "\n"


def change_lines(change: Change, *, color: bool = False, indent: str = "  ") -> list[str]:
    """The lines for one change (header, fields, reason)."""
    symbol = SYMBOLS[change.action]
    head = f"{indent}{symbol} {change.address}"
    if change.action in (Action.FORGET, Action.MANUAL, Action.RUN, Action.DELETE):
        head += f"  ({change.action.value})"
    if color and change.action in _COLORS:
        head = f"{_COLORS[change.action]}{head}{_RESET}"
    lines = [head]
    body = indent + "    "
    for diff in change.diffs:
        lines += diff_lines(diff, body, create=change.action is Action.CREATE)
    if change.action is Action.MANUAL:
        for item in (change.after or {}).get(MANUAL_CHECKLIST_KEY) or []:
            lines.append(f"{body}[ ] {display(str(item))}")
    if change.reason:
        lines.append(f"{body}# {display(change.reason)}")
    return lines


def diff_lines(diff: FieldDiff, indent: str, *, create: bool = False) -> list[str]:
    before, after = diff.before, diff.after
    if _is_list(before) or _is_list(after):
        old = [_text(x) for x in before or []]
        new = [_text(x) for x in after or []]
        lines = [f"{indent}{diff.path}:"]
        lines += [f"{indent}  + {item}" for item in new if item not in old]
        lines += [f"{indent}  - {item}" for item in old if item not in new]
        return lines
    if create or before is None:
        return [f"{indent}{diff.path}: {_value(after)}"]
    if after is None:
        return [f"{indent}{diff.path}: {_value(before)} -> (removed)"]
    return [f"{indent}{diff.path}: {_value(before)} -> {_value(after)}"]


def _is_list(value: Any) -> bool:
    return isinstance(value, list | tuple)


def _text(value: Any) -> str:
    return display(value) if isinstance(value, str) else _value(value)


def _value(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(display(value))
    return display(json.dumps(value, sort_keys=True))
