"""Symbolic values: things a spec needs that exist only once an object does.

The only symbol is a project's NUMBER (service agents are named
`service-{NUMBER}@gcp-sa-healthcare.iam.gserviceaccount.com`). A spec writes it as
`${project_number:PROJECT_ID}`. The planner resolves symbols when the project exists (its read
yields the number); when the project is being created the change keeps the symbol, shown as
"known after apply", and the applier resolves it right after the project is created (or looks the
number up when a saved plan is applied later).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

from provision.errors import ProvisionError

_PROJECT_NUMBER = re.compile(r"\$\{project_number:([a-z][a-z0-9-]{4,28}[a-z0-9])\}")
_MARK = "${project_number:"
"""Every symbol contains this; strings without it are left alone without a regex search."""


def project_number_ref(project_id: str) -> str:
    """The symbol standing for `project_id`'s number."""
    return f"${{project_number:{project_id}}}"


def fact_key(project_id: str) -> str:
    return f"project_number/{project_id}"


def mentions_symbol(value: Any) -> bool:
    """Whether `value` (any JSON) holds a symbol, resolved or not; one C-speed scan."""
    return _MARK in json.dumps(value, default=str)


def unresolved(value: Any) -> set[str]:
    """Project ids whose number `value` (any JSON) still refers to."""
    found: set[str] = set()
    if not mentions_symbol(value):
        return found

    def collect(text: str) -> str:
        if _MARK in text:
            found.update(_PROJECT_NUMBER.findall(text))
        return text

    _walk(value, collect)
    return found


def resolve(value: Any, facts: Mapping[str, str]) -> Any:
    """`value` with every symbol whose fact is known replaced; others are left in place.
    A `value` without symbols is returned as it is (not copied)."""
    if not mentions_symbol(value):
        return value

    def substitute(text: str) -> str:
        if _MARK not in text:
            return text
        return _PROJECT_NUMBER.sub(
            lambda match: facts.get(fact_key(match.group(1)), match.group(0)), text
        )

    return _walk(value, substitute)


def display(text: str) -> str:
    """How an unresolved symbol is shown in a plan."""
    return _PROJECT_NUMBER.sub(lambda m: f"(number of {m.group(1)}, known after apply)", text)


def _walk(value: Any, on_string: Callable[[str], Any]) -> Any:
    if isinstance(value, str):
        return on_string(value)
    if isinstance(value, list):
        return [_walk(item, on_string) for item in value]
    if isinstance(value, tuple):
        return tuple(_walk(item, on_string) for item in value)
    if isinstance(value, dict):
        return {key: _walk(item, on_string) for key, item in value.items()}
    return value


class UnresolvedSymbolError(ProvisionError):
    pass


class Facts:
    """Thread-safe store of facts learned while planning and applying.

    `lookup(key)` (optional) fetches a missing fact, e.g. reads a project to learn its number
    when a saved plan is applied in a later run.
    """

    def __init__(
        self,
        initial: Mapping[str, str] | None = None,
        lookup: Callable[[str], str | None] | None = None,
    ) -> None:
        self._facts: dict[str, str] = dict(initial or {})
        self._lookup = lookup
        self._lock = threading.Lock()

    def update(self, facts: Mapping[str, str]) -> None:
        with self._lock:
            self._facts.update(facts)

    def snapshot(self) -> dict[str, str]:
        with self._lock:
            return dict(self._facts)

    def resolve_fully(self, value: Any, what: str) -> Any:
        """`value` with every symbol resolved, looking facts up when needed; raises otherwise.
        A `value` without symbols is returned as it is (not copied)."""
        missing = unresolved(value)
        if not missing:
            return value
        if self._lookup is not None:
            for project_id in sorted(missing):
                key = fact_key(project_id)
                if key not in self.snapshot():
                    found = self._lookup(key)
                    if found:
                        self.update({key: found})
        resolved = resolve(value, self.snapshot())
        still = unresolved(resolved)
        if still:
            raise UnresolvedSymbolError(
                f"{what}: the number of project(s) {', '.join(sorted(still))} is not known yet"
            )
        return resolved
