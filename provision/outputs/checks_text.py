"""Render `verify` checks as text: a PASS/FAIL table with short object names, then a summary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from provision.verify import Check


def short(name: str) -> str:
    """`imaging/dicomStores/main` for `projects/p/locations/l/datasets/imaging/dicomStores/main`."""
    parts = name.split("/")
    if len(parts) > 5 and parts[0] == "projects" and parts[2] == "locations":
        return "/".join(parts[5:])
    return name


def render(checks: Sequence[Check]) -> str:
    """A PASS/FAIL table, then a one-line summary; ends with a newline."""
    rows = [("", "CHECK", "OBJECT", "DETAIL")]
    rows += [("PASS" if c.ok else "FAIL", c.check, short(c.target), c.detail) for c in checks]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
        + "  "
        + row[3]
        for row in rows
    ]
    failed = sum(1 for c in checks if not c.ok)
    summary = (
        f"Verify passed: {len(checks)} check{'' if len(checks) == 1 else 's'}."
        if not failed
        else f"Verify failed: {failed} of {len(checks)} checks failed."
    )
    return "\n".join([*lines, "", summary]) + "\n"
