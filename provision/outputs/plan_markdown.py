"""Render a Plan as Markdown for a pull-request comment: summary, a table, and a diff block."""

from __future__ import annotations

from provision.model import MANUAL_CHECKLIST_KEY, SYMBOLS, Action, Plan
from provision.outputs.plan_text import change_lines, summary_line
from provision.resources.symbols import display


def render(plan: Plan) -> str:
    changes = [c for c in plan.changes if c.action is not Action.NOOP]
    lines = [f"### provision plan for `{plan.blueprint_path}`", ""]
    if not changes:
        lines.append("**No changes.** The live state matches the blueprint.")
    else:
        lines += [
            f"**{summary_line(plan)}**",
            "",
            "| | Address | Action | Note |",
            "|---|---|---|---|",
        ]
        for change in changes:
            mark = f"`{SYMBOLS[change.action]}`"
            note = display(change.reason).replace("|", "\\|")
            lines.append(f"| {mark} | `{change.address}` | {change.action.value} | {note} |")
        lines += ["", "<details><summary>Details</summary>", "", "```diff"]
        for change in changes:
            lines += change_lines(change, indent="")
        lines += ["```", "", "</details>"]
        manual = [c for c in changes if c.action is Action.MANUAL]
        if manual:
            lines += ["", "#### Manual steps", ""]
            for change in manual:
                lines.append(f"- [ ] `{change.address}`: {display(change.reason)}")
                for item in (change.after or {}).get(MANUAL_CHECKLIST_KEY) or []:
                    lines.append(f"  - [ ] {display(str(item))}")
    for warning in plan.warnings:
        lines += ["", f"> {warning if 'warning:' in warning else 'warning: ' + warning}"]
    return "\n".join(lines) + "\n"
