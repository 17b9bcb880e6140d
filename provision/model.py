"""The data model shared by planner, applier and renderers.

Everything here is a frozen dataclass (or, for `Address`, a named tuple) holding plain JSON-able
values, so a `Plan` can be written to disk and read back without loss (see `provision.planfile`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

JSON = dict[str, Any]
"""A JSON object: the only shape specs, observed fields and diffs take."""


class Address(NamedTuple):
    """Identifies one managed object: its kind and its full Google resource name.

    The string form `kind:name` is what users type (e.g. `--allow-delete`) and what the plan shows.
    A named tuple, so hashing and comparing (the planner and applier do it tens of thousands of
    times per run) happen in C; ordered by kind, then name.
    """

    kind: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"

    @classmethod
    def parse(cls, text: str) -> Address:
        """Parse `kind:name`; raises ValueError when there is no kind."""
        kind, sep, name = text.partition(":")
        if not sep or not kind or not name:
            raise ValueError(f"not an address (expected KIND:NAME): {text!r}")
        return cls(kind, name)


@dataclass(frozen=True)
class SourceRef:
    """Where in the blueprint a resource was declared (for messages)."""

    file: str
    line: int | None = None

    def __str__(self) -> str:
        return self.file if self.line is None else f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Resource:
    """The desired state of one object: only the fields the blueprint owns."""

    address: Address
    spec: JSON
    depends_on: tuple[Address, ...] = ()
    source: SourceRef | None = None
    adopt: bool = False
    """Take over a pre-existing object not marked `managed-by: provision`."""


@dataclass(frozen=True)
class Observed:
    """The actual state of one object as the API reports it, normalised to the spec's shape."""

    exists: bool
    fields: JSON = field(default_factory=dict)
    etag: str | None = None

    @classmethod
    def absent(cls) -> Observed:
        return cls(exists=False)


class Action(StrEnum):
    NOOP = "no-op"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    FORGET = "forget"
    """Stop managing; the object is left as it is."""
    RUN = "run"
    """A one-shot step such as a DICOM import."""
    MANUAL = "manual"
    """A step no API can do; shown as a checklist item, never silently skipped."""


SYMBOLS: Mapping[Action, str] = {
    Action.NOOP: " ",
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.DELETE: "-",
    Action.FORGET: ".",
    Action.RUN: ">",
    Action.MANUAL: "!",
}


MANUAL_CHECKLIST_KEY = "checklist"
"""A `manual` change's `after` may hold `checklist: [str]`: the items of the step."""


@dataclass(frozen=True)
class FieldDiff:
    """One field that differs; `path` is dotted (e.g. `labels.env`, `bindings[roles/x]`)."""

    path: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Change:
    """What the plan will do to one address, with what it saw when it planned."""

    address: Address
    action: Action
    before: JSON | None = None
    after: JSON | None = None
    diffs: tuple[FieldDiff, ...] = ()
    reason: str = ""
    """Display-only explanation (e.g. "parent dataset is being created")."""
    etag: str | None = None
    depends_on: tuple[Address, ...] = ()
    observed_exists: bool | None = None
    """Existence at plan time; None when the object was not read (its parent is being created)."""

    @property
    def is_mutation(self) -> bool:
        return self.action in (Action.CREATE, Action.UPDATE, Action.DELETE, Action.RUN)

    @property
    def fields_changed(self) -> frozenset[str]:
        """The top-level fields its diffs touch (`labels` for `labels.env`): an update's mask."""
        return frozenset(d.path.split(".", 1)[0] for d in self.diffs)


PLAN_FORMAT_VERSION = 1


@dataclass(frozen=True)
class Plan:
    """An ordered set of changes computed from one blueprint against the live state."""

    blueprint_path: str
    blueprint_digest: str
    changes: tuple[Change, ...]
    format_version: int = PLAN_FORMAT_VERSION
    warnings: tuple[str, ...] = ()
    site: str | None = None
    """The one site the plan covers (`plan --site`); None: the whole blueprint."""

    def counts(self) -> Counter[Action]:
        return Counter(change.action for change in self.changes)

    @property
    def has_changes(self) -> bool:
        """True when applying would call a mutating API (manual steps alone do not count)."""
        return any(change.is_mutation for change in self.changes)
