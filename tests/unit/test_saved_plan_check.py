"""A saved plan applies only when a plan made now makes each of its decisions: what differs is
named by address and field, as an edit of the file or as a change of the live state."""

from __future__ import annotations

from dataclasses import replace

import pytest

from provision.errors import StalePlanError
from provision.model import Action, Address, Change, FieldDiff, Plan
from provision.saved_plan import SavedPlanError, check_same

A = Address("storage.bucket", "projects/_/buckets/a")
B = Address("storage.bucket", "projects/_/buckets/b")
ORPHAN = Address("healthcare.dicom_store", "projects/p/locations/l/datasets/d/dicomStores/old")


def update(address: Address, before: str, after: str) -> Change:
    return Change(
        address,
        Action.UPDATE,
        before={"labels": {"env": before}},
        after={"name": address.name.rsplit("/", 1)[-1], "labels": {"env": after}},
        diffs=(FieldDiff("labels.env", before, after),),
        observed_exists=True,
    )


def plan(*changes: Change) -> Plan:
    return Plan("/srv/bp.yaml", "digest", changes)


SAVED = plan(update(A, "dev", "test"), update(B, "dev", "test"))


def test_what_was_read_besides_the_decision_is_not_compared() -> None:
    """An unrelated label or a new etag does not make the plan stale; apply writes from them."""
    read_now = [
        replace(c, etag="new", before={"labels": {"env": "dev", "team": "x"}})
        for c in SAVED.changes
    ]
    check_same(SAVED, plan(*read_now))


def test_a_changed_state_lists_every_change_it_moved() -> None:
    found = Change(ORPHAN, Action.FORGET, before={}, depends_on=(A,), observed_exists=True)
    fresh = plan(update(A, "prod", "test"), SAVED.changes[1], found)
    with pytest.raises(StalePlanError) as raised:
        check_same(SAVED, fresh)
    lines = str(raised.value).splitlines()
    assert lines[0].startswith("the saved plan is stale")
    assert lines[1] == (
        f'  - {A}: diffs.labels.env.before is "dev" in the saved plan but "prod" now'
    )
    assert lines[2] == f"  - {ORPHAN}: a plan made now has it (forget), the saved plan does not"
    assert len(lines) == 3


def test_an_edited_after_is_named_by_its_field() -> None:
    edited = update(A, "dev", "test")
    edited = replace(edited, after={**(edited.after or {}), "name": "evil"})
    with pytest.raises(SavedPlanError) as raised:
        check_same(plan(edited, SAVED.changes[1]), SAVED)
    message = str(raised.value)
    assert "\n" not in message
    assert f'does not hold together at {A}: after.name is "evil" in the saved plan' in message


def test_a_change_left_out_is_an_edit() -> None:
    with pytest.raises(SavedPlanError, match=f"at {B}: a plan made now has it"):
        check_same(plan(SAVED.changes[0]), SAVED)


def test_what_a_delete_holds_is_compared() -> None:
    delete = Change(
        ORPHAN,
        Action.DELETE,
        before={"holds": ["1.2.3"], "contents": "holds 1 DICOM study"},
        reason="no longer in the blueprint",
        observed_exists=True,
    )
    now = replace(delete, before={"holds": ["1.2.4"], "contents": "holds 1 DICOM study"})
    with pytest.raises(StalePlanError, match=r"before\.holds has \"1\.2\.3\" only in the saved"):
        check_same(plan(delete), plan(now))
