"""Render what `provision show` found: each managed object, whether it exists, and its outputs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ShownObject:
    """One managed object as `show` lists it."""

    address: str
    kind: str
    name: str
    exists: bool
    status: str
    """`exists`, `absent`, `differs` (apply would update it), `to run` (an import),
    `retired` (no longer in the blueprint)."""
    outputs: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "kind": self.kind,
            "name": self.name,
            "exists": self.exists,
            "status": self.status,
            "outputs": dict(self.outputs),
        }


def render(objects: Sequence[ShownObject]) -> str:
    """One block per object: `ADDRESS  (STATUS)`, then `    key: value` per output."""
    lines: list[str] = []
    for shown in objects:
        lines.append(f"{shown.address}  ({shown.status})")
        width = max((len(key) for key in shown.outputs), default=0)
        lines += [f"    {key.ljust(width)}  {value}" for key, value in shown.outputs.items()]
    if not objects:
        lines.append("The blueprint manages no objects.")
    return "\n".join(lines) + "\n"
