"""The applier's bookkeeping with an in-memory kind: order, skips, refusals."""

from __future__ import annotations

import threading
from typing import Any, cast

import pytest

from provision.apply import apply_plan
from provision.errors import RefusedError
from provision.gcp.api import GoogleApi
from provision.graph import State
from provision.model import Action, Address, Change, FieldDiff, Observed, Plan, Resource
from provision.resources.base import Context, Kind, Options
from provision.resources.registry import register
from provision.resources.symbols import Facts

WORLD: dict[str, Any] = {}
LOG: list[str] = []
LOCK = threading.Lock()


@register
class MemoryKind(Kind):
    """A kind whose objects live in WORLD; `fail` in the spec makes its write fail."""

    name = "test.memory"
    api = "memory"

    def read(self, ctx: Context, resource: Resource) -> Observed:
        value = WORLD.get(resource.address.name)
        return Observed.absent() if value is None else Observed(True, {"value": value})

    def diff(self, resource: Resource, observed: Observed, options: Options) -> Change:
        wanted = resource.spec["value"]
        if not observed.exists:
            action = Action.CREATE
        else:
            action = Action.NOOP if observed.fields["value"] == wanted else Action.UPDATE
        before = observed.fields.get("value") if observed.exists else None
        diffs = () if action is Action.NOOP else (FieldDiff("value", before, wanted),)
        return Change(
            resource.address,
            action,
            before=dict(observed.fields) if observed.exists else None,
            after=dict(resource.spec),
            diffs=diffs,
            depends_on=resource.depends_on,
            observed_exists=observed.exists,
        )

    def _write(self, change: Change) -> Observed:
        with LOCK:
            LOG.append(f"{change.action.value} {change.address.name}")
        if (change.after or {}).get("fail"):
            raise RuntimeError("write failed")
        WORLD[change.address.name] = (change.after or {})["value"]
        return Observed(True, {"value": WORLD[change.address.name]})

    def create(self, ctx: Context, change: Change) -> Observed | None:
        return self._write(change)

    def update(self, ctx: Context, change: Change) -> Observed | None:
        return self._write(change)

    def delete(self, ctx: Context, change: Change) -> None:
        with LOCK:
            LOG.append(f"delete {change.address.name}")
        WORLD.pop(change.address.name, None)


def address(name: str) -> Address:
    return Address("test.memory", name)


def change(
    name: str, action: Action, value: Any = 1, deps: tuple[str, ...] = (), **spec: Any
) -> Change:
    return Change(
        address(name),
        action,
        after={"value": value, **spec},
        diffs=(FieldDiff("value", None, value),) if action is Action.CREATE else (),
        depends_on=tuple(address(d) for d in deps),
        observed_exists=action is not Action.CREATE,
    )


def context(**options: Any) -> Context:
    return Context(cast(GoogleApi, None), Facts(), Options(**options))


@pytest.fixture(autouse=True)
def clean() -> None:
    WORLD.clear()
    LOG.clear()


def test_dependents_of_a_failure_are_skipped_and_others_finish() -> None:
    plan = Plan(
        "bp.yaml",
        "d",
        (
            change("a", Action.CREATE),
            change("b", Action.CREATE, deps=("a",), fail=True),
            change("c", Action.CREATE, deps=("b",)),
            change("d", Action.CREATE, deps=("a",)),
            change("e", Action.NOOP, deps=("a",)),
        ),
    )
    report = apply_plan(plan, context())
    states = {r.address.name: r.state for r in report.results}
    assert states == {
        "a": State.DONE,
        "b": State.FAILED,
        "c": State.SKIPPED,
        "d": State.DONE,
        "e": State.DONE,
    }
    assert not report.ok
    assert report.summary() == "Apply failed: 2 done, 1 failed, 1 skipped."
    assert LOG.index("create a") < LOG.index("create d")


def test_deletes_need_the_flag_at_apply_time_too() -> None:
    WORLD["old"] = 1
    plan = Plan("bp.yaml", "d", (Change(address("old"), Action.DELETE, observed_exists=True),))
    with pytest.raises(RefusedError, match=r"--allow-delete test\.memory:old"):
        apply_plan(plan, context())
    assert WORLD == {"old": 1}
    report = apply_plan(plan, context(allow_delete=frozenset({"test.memory:old"})))
    assert report.ok and WORLD == {}


def test_forget_and_manual_changes_write_nothing() -> None:
    plan = Plan(
        "bp.yaml",
        "d",
        (
            Change(address("x"), Action.FORGET, observed_exists=True),
            Change(Address("manual", "consent"), Action.MANUAL),
        ),
    )
    report = apply_plan(plan, context())
    assert report.ok and LOG == []
