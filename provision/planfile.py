"""Plan <-> JSON. The JSON plan document is also what `provision plan --format json` prints.

Document shape (format_version 1):
    {"format_version": 1, "blueprint": {"path", "relative_path", "digest", "site"},
     "summary": {...},
     "warnings": [...], "changes": [{"address", "kind", "name", "action", "before", "after",
     "diffs": [{"path", "before", "after"}], "reason", "etag", "depends_on", "observed_exists"}]}

`blueprint.path` is absolute; `relative_path` (relative to the plan file's folder, present when
the plan was saved with `plan --out`) finds the blueprint when both were moved together;
`site` (optional) is the one site a `plan --site` covers. `summary` is informational and
ignored when reading. Reading is strict: no unknown field, every field has its type,
`observed_exists` is true, false or null, addresses are unique, every dependency names a
change of the plan and there are no dependency cycles, values nest at most `MAX_DEPTH` levels.
Anything else is a `PlanFileError` with one line naming the file and the field.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from provision.errors import ProvisionError
from provision.files import (
    PLAN_LIMIT,
    FileError,
    read_regular,
    read_start,
    replace_regular,
    shown,
)
from provision.model import (
    JSON,
    PLAN_FORMAT_VERSION,
    Action,
    Address,
    Change,
    FieldDiff,
    Plan,
)

MAX_DEPTH = 64
"""Deepest nesting of JSON values read from a plan file."""
_DOCUMENT_KEYS = frozenset({"format_version", "blueprint", "summary", "warnings", "changes"})
_BLUEPRINT_KEYS = frozenset({"path", "relative_path", "digest", "site"})
_CHANGE_KEYS = frozenset(
    {
        "address",
        "kind",
        "name",
        "action",
        "before",
        "after",
        "diffs",
        "reason",
        "etag",
        "depends_on",
        "observed_exists",
    }
)
T = TypeVar("T")


class PlanFileError(ProvisionError):
    """A plan file that cannot be read."""


def to_document(plan: Plan, relative_path: str | None = None) -> JSON:
    """The plan document; the blueprint's path made absolute (from the working folder)."""
    counts = plan.counts()
    path = os.path.abspath(plan.blueprint_path)
    blueprint: JSON = {"path": path, "digest": plan.blueprint_digest}
    if relative_path is not None:
        blueprint["relative_path"] = relative_path
    if plan.site is not None:
        blueprint["site"] = plan.site
    return {
        "format_version": plan.format_version,
        "blueprint": blueprint,
        "summary": {action.value: counts.get(action, 0) for action in Action},
        "warnings": list(plan.warnings),
        "changes": [change_to_json(change) for change in plan.changes],
    }


def change_to_json(change: Change) -> JSON:
    return {
        "address": str(change.address),
        "kind": change.address.kind,
        "name": change.address.name,
        "action": change.action.value,
        "before": change.before,
        "after": change.after,
        "diffs": [{"path": d.path, "before": d.before, "after": d.after} for d in change.diffs],
        "reason": change.reason,
        "etag": change.etag,
        "depends_on": [str(a) for a in change.depends_on],
        "observed_exists": change.observed_exists,
    }


class _Reader:
    """Checks one plan document field by field; `fail` names the field."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, message: str) -> PlanFileError:
        field = f" {where}:" if where else ""
        return PlanFileError(f"{self.source}:{field} {message}")

    def typed(self, value: Any, kinds: type | tuple[type, ...], where: str, what: str) -> Any:
        if isinstance(value, bool) and bool not in _as_tuple(kinds):
            raise self.fail(where, f"must be {what}, not {json.dumps(value)}")
        if not isinstance(value, kinds):
            raise self.fail(where, f"must be {what}, not {_json_type(value)}")
        return value

    def mapping(
        self, value: Any, where: str, keys: Iterable[str], known: Iterable[str]
    ) -> dict[str, Any]:
        """`value` as an object with every field of `keys` and no field outside `known`."""
        data: dict[str, Any] = self.typed(value, dict, where, "an object")
        missing = sorted(set(keys) - set(data))
        if missing:
            raise self.fail(where, f"the field {missing[0]!r} is missing")
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise self.fail(where, f"unknown field {unknown[0]!r}")
        return data

    def items(self, value: Any, where: str, each: Callable[[Any, str], T]) -> list[T]:
        listed: list[Any] = self.typed(value, list, where, "a list")
        return [each(item, f"{where}[{index}]") for index, item in enumerate(listed)]

    def text(self, value: Any, where: str) -> str:
        result: str = self.typed(value, str, where, "a string")
        return result

    def optional_text(self, value: Any, where: str) -> str | None:
        return None if value is None else self.text(value, where)

    def optional_object(self, value: Any, where: str) -> JSON | None:
        if value is None:
            return None
        result: JSON = self.typed(value, dict, where, "an object or null")
        return result


def _as_tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def from_document(document: Any, source: str = "plan") -> Plan:
    """Parse a plan document; PlanFileError says what is wrong (one line)."""
    reader = _Reader(source)
    if not isinstance(document, dict) or "format_version" not in document:
        raise PlanFileError(f"{source}: not a provision plan file")
    version = document["format_version"]
    if type(version) is not int or version != PLAN_FORMAT_VERSION:
        shown_version = json.dumps(version)[:40]
        raise PlanFileError(
            f"{source}: plan format_version {shown_version} is not supported "
            f"(this provision reads {PLAN_FORMAT_VERSION}); make the plan again"
        )
    _check_depth(document, reader)
    reader.mapping(document, "", ("blueprint", "changes"), _DOCUMENT_KEYS)
    blueprint = reader.mapping(
        document["blueprint"], "blueprint", ("path", "digest"), _BLUEPRINT_KEYS
    )
    path = reader.text(blueprint["path"], "blueprint.path")
    if not path:
        raise reader.fail("blueprint.path", "must not be empty")
    reader.optional_text(blueprint.get("relative_path"), "blueprint.relative_path")
    digest = reader.text(blueprint["digest"], "blueprint.digest")
    site = reader.optional_text(blueprint.get("site"), "blueprint.site")
    warnings = reader.items(document.get("warnings", []), "warnings", reader.text)
    changes = reader.items(
        document["changes"], "changes", lambda item, where: _change(reader, item, where)
    )
    _check_graph(changes, reader)
    return Plan(
        blueprint_path=path,
        blueprint_digest=digest,
        changes=tuple(changes),
        format_version=version,
        warnings=tuple(warnings),
        site=site,
    )


def _change(reader: _Reader, value: Any, where: str) -> Change:
    item = reader.mapping(value, where, ("kind", "name", "action"), _CHANGE_KEYS)
    kind = reader.text(item["kind"], f"{where}.kind")
    name = reader.text(item["name"], f"{where}.name")
    if not kind or not name or ":" in kind:
        raise reader.fail(where, "kind and name must be non-empty (and kind has no ':')")
    address = Address(kind, name)
    if "address" in item and reader.text(item["address"], f"{where}.address") != str(address):
        raise reader.fail(f"{where}.address", f"does not match kind and name ({address})")
    action_text = reader.text(item["action"], f"{where}.action")
    try:
        action = Action(action_text)
    except ValueError:
        choices = ", ".join(a.value for a in Action)
        raise reader.fail(f"{where}.action", f"{action_text!r} is not one of {choices}") from None
    exists = item.get("observed_exists")
    if exists is not None and not isinstance(exists, bool):
        raise reader.fail(f"{where}.observed_exists", "must be true, false or null")
    return Change(
        address=address,
        action=action,
        before=reader.optional_object(item.get("before"), f"{where}.before"),
        after=reader.optional_object(item.get("after"), f"{where}.after"),
        diffs=tuple(reader.items(item.get("diffs", []), f"{where}.diffs", _diff_reader(reader))),
        reason=reader.optional_text(item.get("reason"), f"{where}.reason") or "",
        etag=reader.optional_text(item.get("etag"), f"{where}.etag"),
        depends_on=tuple(
            reader.items(item.get("depends_on", []), f"{where}.depends_on", _dep_reader(reader))
        ),
        observed_exists=exists,
    )


def _diff_reader(reader: _Reader) -> Callable[[Any, str], FieldDiff]:
    def read(value: Any, where: str) -> FieldDiff:
        diff = reader.mapping(value, where, ("path",), ("path", "before", "after"))
        return FieldDiff(
            reader.text(diff["path"], f"{where}.path"), diff.get("before"), diff.get("after")
        )

    return read


def _dep_reader(reader: _Reader) -> Callable[[Any, str], Address]:
    def read(value: Any, where: str) -> Address:
        try:
            return Address.parse(reader.text(value, where))
        except ValueError as error:
            raise reader.fail(where, str(error)) from None

    return read


def _check_depth(document: Any, reader: _Reader) -> None:
    """Refuse values nested more than MAX_DEPTH levels (checked without recursion)."""
    pending: list[tuple[Any, int]] = [(document, 0)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise reader.fail("", f"values are nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, dict):
            pending += [(item, depth + 1) for item in value.values()]
        elif isinstance(value, list):
            pending += [(item, depth + 1) for item in value]


def _check_graph(changes: list[Change], reader: _Reader) -> None:
    """Unique addresses, dependencies on changes of the plan, no cycles (iteratively)."""
    index: dict[Address, int] = {}
    for position, change in enumerate(changes):
        if change.address in index:
            raise reader.fail(f"changes[{position}]", f"{change.address} appears twice")
        index[change.address] = position
    for position, change in enumerate(changes):
        for dep in change.depends_on:
            if dep not in index:
                raise reader.fail(
                    f"changes[{position}].depends_on",
                    f"{dep} is not a change of this plan",
                )
    cycle = _find_cycle({c.address: c.depends_on for c in changes})
    if cycle:
        path = " -> ".join(str(a) for a in cycle)
        raise reader.fail("changes", f"dependency cycle: {path}")


def _find_cycle(deps: Mapping[Address, tuple[Address, ...]]) -> list[Address]:
    """One dependency cycle (first node repeated at the end), or [] when there is none."""
    state: dict[Address, int] = {}
    for start in deps:
        if state.get(start):
            continue
        stack: list[tuple[Address, int]] = [(start, 0)]
        state[start] = 1
        while stack:
            node, next_dep = stack[-1]
            children = deps.get(node, ())
            if next_dep >= len(children):
                state[node] = 2
                stack.pop()
                continue
            stack[-1] = (node, next_dep + 1)
            child = children[next_dep]
            if state.get(child) == 1:
                path = [n for n, _ in stack]
                return [*path[path.index(child) :], child]
            if not state.get(child):
                state[child] = 1
                stack.append((child, 0))
    return []


def dumps(plan: Plan, relative_path: str | None = None) -> str:
    return json.dumps(to_document(plan, relative_path), indent=2, sort_keys=False) + "\n"


def loads(text: str, source: str = "plan") -> Plan:
    try:
        document = json.loads(text)
    except RecursionError:
        raise PlanFileError(
            f"{source}: values are nested more than {MAX_DEPTH} levels deep"
        ) from None
    except ValueError as error:
        raise PlanFileError(f"{source}: not JSON ({error})") from None
    return from_document(document, source)


def write(plan: Plan, path: Path, protected: Iterable[Path] = ()) -> None:
    """Save `plan` at `path` atomically (never over a non-regular file or `protected`)."""
    relative = os.path.relpath(os.path.abspath(plan.blueprint_path), path.absolute().parent)
    replace_regular(path, dumps(plan, relative), protected, what="plan file")


def read(path: Path) -> Plan:
    """The plan saved at `path`, with `blueprint_path` made absolute: the saved path when that
    file exists, else the saved `relative_path` from this plan file's folder when that one
    does (plan and blueprint moved together), else the saved path (which the caller refuses)."""
    try:
        content = read_regular(path, PLAN_LIMIT, "plan file")
    except FileError as error:
        raise PlanFileError(str(error)) from None
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise PlanFileError(
            f"{shown(path)}: not UTF-8 text (invalid byte at offset {error.start})"
        ) from None
    plan = loads(text, shown(path))
    folder = path.absolute().parent
    saved = folder / plan.blueprint_path  # an absolute saved path stays as it is
    relative = _relative_path(text)
    candidates = [saved, *([folder / relative] if relative else [])]
    found = next((c for c in candidates if c.is_file()), saved)
    return replace(plan, blueprint_path=os.path.normpath(found))


def _relative_path(text: str) -> str | None:
    blueprint = json.loads(text).get("blueprint") or {}
    value = blueprint.get("relative_path")
    return value if isinstance(value, str) and value else None


def looks_like_plan(path: Path) -> bool:
    """True when `path` holds a plan document (JSON with format_version), not a blueprint.
    Never blocks: a FIFO or device is not a plan."""
    try:
        head = read_start(path, 4096, "plan file").lstrip()
    except FileError:
        return False
    return head.startswith(b"{") and b'"format_version"' in head
