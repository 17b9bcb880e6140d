"""Render a Plan as the JSON plan document (the same document a saved plan file holds)."""

from __future__ import annotations

from provision.model import Plan
from provision.planfile import dumps


def render(plan: Plan) -> str:
    return dumps(plan)
