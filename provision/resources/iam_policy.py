"""Pure IAM policy merging, shared by every IAM kind (project, dataset, DICOM store, bucket).

Semantics:
* A wanted binding is keyed by (role, condition). By default it is additive: its members are
  added and nobody is removed.
* `authoritative: true` makes that (role, condition) binding hold exactly the wanted members;
  every member it removes is reported.
* Everything else in the policy (other bindings, member order, `auditConfigs`, `version`, unknown
  keys) is preserved exactly. `version` is raised to 3 when a conditional binding is present.
* Members compare case-insensitively for e-mail principal types (Google lower-cases them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from provision.model import JSON, FieldDiff

_EMAIL_PREFIXES = ("user:", "serviceaccount:", "group:", "domain:")

ConditionKey = tuple[str, str, str]


def _copied(policy: Mapping[str, Any]) -> JSON:
    """A deep copy of a JSON policy (dicts and lists are copied; strings and numbers shared)."""

    def copied(value: Any) -> Any:
        # The concrete types first: an ABC check (Mapping) costs several times as much.
        if isinstance(value, str):
            return value
        if isinstance(value, dict):
            return {key: copied(item) for key, item in value.items()}
        if isinstance(value, list):
            return [copied(item) for item in value]
        if isinstance(value, Mapping):
            return {key: copied(item) for key, item in value.items()}
        if isinstance(value, tuple):
            return tuple(copied(item) for item in value)
        return value

    result: JSON = copied(policy)
    return result


def member_key(member: str) -> str:
    """Comparison key of a member: e-mail principals lower-cased, others as written."""
    lowered = member.lower()
    if lowered.startswith(_EMAIL_PREFIXES):
        return lowered
    if lowered.startswith("deleted:"):
        return "deleted:" + member_key(member[len("deleted:") :])
    return member


def condition_key(condition: Mapping[str, Any] | None) -> ConditionKey | None:
    if not condition:
        return None
    return (
        str(condition.get("expression", "")),
        str(condition.get("title", "")),
        str(condition.get("description", "") or ""),
    )


def binding_label(role: str, condition: Mapping[str, Any] | None) -> str:
    """How a binding is named in plans: `roles/x` or `roles/x if <title>`."""
    if not condition:
        return role
    title = condition.get("title") or condition.get("expression")
    return f"{role} if {title}"


@dataclass(frozen=True)
class WantedBinding:
    role: str
    members: tuple[str, ...]
    condition: JSON | None = None
    authoritative: bool = False

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> WantedBinding:
        condition = spec.get("condition")
        return cls(
            role=str(spec["role"]),
            members=tuple(str(m) for m in spec.get("members", ())),
            condition=dict(condition) if condition else None,
            authoritative=bool(spec.get("authoritative", False)),
        )

    @property
    def key(self) -> tuple[str, ConditionKey | None]:
        return (self.role, condition_key(self.condition))

    @property
    def label(self) -> str:
        return binding_label(self.role, self.condition)


@dataclass(frozen=True)
class Removal:
    role: str
    label: str
    member: str


@dataclass(frozen=True)
class MergeResult:
    policy: JSON
    """The resulting policy; equal to the input (same object contents) when nothing changes."""
    changed: bool
    diffs: tuple[FieldDiff, ...]
    """One per changed binding: `bindings[LABEL]`, members before -> after (sorted)."""
    removals: tuple[Removal, ...]


def combine(wanted: Iterable[WantedBinding]) -> list[WantedBinding]:
    """Merge wanted bindings sharing (role, condition): members united, authoritative if any."""
    merged: dict[tuple[str, ConditionKey | None], WantedBinding] = {}
    for binding in wanted:
        existing = merged.get(binding.key)
        if existing is None:
            merged[binding.key] = binding
            continue
        members = list(existing.members)
        keys = {member_key(m) for m in members}
        members += [m for m in binding.members if member_key(m) not in keys]
        merged[binding.key] = WantedBinding(
            existing.role,
            tuple(members),
            existing.condition,
            existing.authoritative or binding.authoritative,
        )
    return list(merged.values())


def merge(policy: Mapping[str, Any], wanted: Sequence[WantedBinding]) -> MergeResult:
    """Apply `wanted` to `policy` (see module docstring). Pure; `policy` is not modified."""
    result: JSON = _copied(policy)
    bindings: list[JSON] = [b for b in result.get("bindings") or [] if isinstance(b, dict)]
    diffs: list[FieldDiff] = []
    removals: list[Removal] = []
    for want in combine(wanted):
        matches = [
            index
            for index, binding in enumerate(bindings)
            if binding.get("role") == want.role
            and condition_key(binding.get("condition")) == condition_key(want.condition)
        ]
        before = [m for index in matches for m in bindings[index].get("members") or []]
        before_keys = {member_key(m) for m in before}
        want_keys = {member_key(m) for m in want.members}
        additions = _unique(m for m in want.members if member_key(m) not in before_keys)
        if want.authoritative:
            gone = _unique(m for m in before if member_key(m) not in want_keys)
            kept = _unique(m for m in before if member_key(m) in want_keys)
            after = kept + additions
            removals += [Removal(want.role, want.label, m) for m in gone]
            if not gone and not additions and len(matches) <= 1:
                continue
            if matches:
                first, *duplicates = matches
                bindings[first]["members"] = after
                for index in reversed(duplicates):
                    del bindings[index]
            else:
                bindings.append(_new_binding(want, after))
        else:
            if not additions:
                continue
            after = [*before, *additions]
            if matches:
                target = bindings[matches[0]]
                target["members"] = [*(target.get("members") or []), *additions]
            else:
                bindings.append(_new_binding(want, additions))
        diffs.append(FieldDiff(f"bindings[{want.label}]", sorted(before), sorted(after)))
    if not diffs:  # nothing was changed: `result` is still an untouched copy
        return MergeResult(result, False, (), tuple(removals))
    result["bindings"] = bindings
    if any(b.get("condition") for b in bindings):
        result["version"] = 3
    return MergeResult(result, True, tuple(diffs), tuple(removals))


def removals_of(member: str, removals: Iterable[Removal], roles: Iterable[str]) -> list[Removal]:
    """The removals that take one of `roles` away from `member`."""
    key = member_key(member)
    wanted_roles = set(roles)
    return [r for r in removals if member_key(r.member) == key and r.role in wanted_roles]


def roles_held(policy: Mapping[str, Any], member: str) -> set[str]:
    """The roles `member` holds unconditionally in `policy` (members compared case-blind)."""
    wanted = member.lower()
    return {
        str(b.get("role"))
        for b in policy.get("bindings") or []
        if not b.get("condition") and wanted in {str(m).lower() for m in b.get("members") or []}
    }


def _new_binding(want: WantedBinding, members: list[str]) -> JSON:
    binding: JSON = {"role": want.role, "members": list(members)}
    if want.condition:
        binding["condition"] = dict(want.condition)
    return binding


def _unique(members: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for member in members:
        key = member_key(member)
        if key not in seen:
            seen.add(key)
            out.append(member)
    return out


def subtract(policy: Mapping[str, Any], wanted: Sequence[WantedBinding]) -> MergeResult:
    """Remove exactly `wanted`'s members from their (role, condition) bindings. Pure.

    Used to take back what a blueprint granted (additive and authoritative bindings alike):
    other members, other bindings and every other key stay as they are; a binding left with no
    member is dropped. `removals` lists each member removed.
    """
    result: JSON = _copied(policy)
    bindings: list[JSON] = [b for b in result.get("bindings") or [] if isinstance(b, dict)]
    diffs: list[FieldDiff] = []
    removals: list[Removal] = []
    for want in combine(wanted):
        gone_keys = {member_key(m) for m in want.members}
        before: list[str] = []
        after: list[str] = []
        for binding in bindings:
            if binding.get("role") != want.role or condition_key(
                binding.get("condition")
            ) != condition_key(want.condition):
                continue
            members = list(binding.get("members") or [])
            kept = [m for m in members if member_key(m) not in gone_keys]
            before += members
            after += kept
            removals += [
                Removal(want.role, want.label, m) for m in members if member_key(m) in gone_keys
            ]
            binding["members"] = kept
        if before != after:
            diffs.append(FieldDiff(f"bindings[{want.label}]", sorted(before), sorted(after)))
    if not diffs:  # nothing was changed: `result` is still an untouched copy
        return MergeResult(result, False, (), ())
    result["bindings"] = [b for b in bindings if b.get("members")]
    return MergeResult(result, True, tuple(diffs), tuple(removals))
