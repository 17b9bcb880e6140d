"""Plan <-> JSON. The JSON plan document is also what `provision plan --format json` prints.

Document shape (format_version 1):
    {"format_version": 1, "blueprint": {"path", "digest"}, "summary": {...counts},
     "warnings": [...], "changes": [{"address", "kind", "name", "action", "before", "after",
     "diffs": [{"path", "before", "after"}], "reason", "etag", "depends_on", "observed_exists"}]}
`summary` is informational and ignored when reading.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from provision.errors import ProvisionError
from provision.model import (
    JSON,
    PLAN_FORMAT_VERSION,
    Action,
    Address,
    Change,
    FieldDiff,
    Plan,
)


class PlanFileError(ProvisionError):
    """A plan file that cannot be read."""


def to_document(plan: Plan) -> JSON:
    counts = plan.counts()
    return {
        "format_version": plan.format_version,
        "blueprint": {"path": plan.blueprint_path, "digest": plan.blueprint_digest},
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


def from_document(document: Any, source: str = "plan") -> Plan:
    """Parse a plan document; PlanFileError says what is wrong."""
    if not isinstance(document, dict) or "format_version" not in document:
        raise PlanFileError(f"{source}: not a provision plan file")
    version = document["format_version"]
    if version != PLAN_FORMAT_VERSION:
        raise PlanFileError(
            f"{source}: plan format_version {version} is not supported "
            f"(this provision reads {PLAN_FORMAT_VERSION}); make the plan again"
        )
    try:
        blueprint = document["blueprint"]
        changes = tuple(change_from_json(item) for item in document["changes"])
        return Plan(
            blueprint_path=str(blueprint["path"]),
            blueprint_digest=str(blueprint["digest"]),
            changes=changes,
            format_version=int(version),
            warnings=tuple(str(w) for w in document.get("warnings", [])),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise PlanFileError(f"{source}: malformed plan file ({error})") from None


def change_from_json(item: JSON) -> Change:
    return Change(
        address=Address(str(item["kind"]), str(item["name"])),
        action=Action(item["action"]),
        before=item.get("before"),
        after=item.get("after"),
        diffs=tuple(FieldDiff(d["path"], d.get("before"), d.get("after")) for d in item["diffs"]),
        reason=str(item.get("reason") or ""),
        etag=item.get("etag"),
        depends_on=tuple(Address.parse(a) for a in item.get("depends_on", [])),
        observed_exists=item.get("observed_exists"),
    )


def dumps(plan: Plan) -> str:
    return json.dumps(to_document(plan), indent=2, sort_keys=False) + "\n"


def loads(text: str, source: str = "plan") -> Plan:
    try:
        document = json.loads(text)
    except ValueError as error:
        raise PlanFileError(f"{source}: not JSON ({error})") from None
    return from_document(document, source)


def write(plan: Plan, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(dumps(plan), encoding="utf-8")
    tmp.replace(path)


def read(path: Path) -> Plan:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PlanFileError(f"cannot read plan file {path}: {error.strerror}") from None
    return loads(text, str(path))


def looks_like_plan(path: Path) -> bool:
    """True when `path` holds a plan document (JSON with format_version), not a blueprint."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4096).lstrip()
    except OSError:
        return False
    return head.startswith(b"{") and b'"format_version"' in head
