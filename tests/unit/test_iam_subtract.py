"""`iam_policy.subtract`: taking back exactly what a blueprint granted (pure)."""

from __future__ import annotations

from typing import Any

from provision.resources.iam_policy import WantedBinding, subtract

CONDITION = {"title": "weekdays", "expression": "request.time.getDayOfWeek() < 5"}


def policy(*bindings: dict[str, Any]) -> dict[str, Any]:
    return {"version": 1, "etag": "BwX", "bindings": list(bindings), "auditConfigs": [{"x": 1}]}


def test_only_the_blueprints_members_go_and_everything_else_stays() -> None:
    current = policy(
        {"role": "roles/viewer", "members": ["group:Team@example.com", "user:other@example.com"]},
        {"role": "roles/owner", "members": ["user:boss@example.com"]},
    )
    result = subtract(current, [WantedBinding("roles/viewer", ("group:team@example.com",))])
    assert result.changed
    assert result.policy == policy(
        {"role": "roles/viewer", "members": ["user:other@example.com"]},
        {"role": "roles/owner", "members": ["user:boss@example.com"]},
    )
    assert [r.member for r in result.removals] == ["group:Team@example.com"]
    assert current["bindings"][0]["members"][0] == "group:Team@example.com"  # input untouched


def test_an_emptied_binding_is_dropped_and_conditions_are_matched_exactly() -> None:
    current = policy(
        {"role": "roles/viewer", "members": ["user:a@example.com"]},
        {"role": "roles/viewer", "members": ["user:a@example.com"], "condition": CONDITION},
    )
    result = subtract(
        current, [WantedBinding("roles/viewer", ("user:a@example.com",), authoritative=True)]
    )
    assert result.policy["bindings"] == [
        {"role": "roles/viewer", "members": ["user:a@example.com"], "condition": CONDITION}
    ]


def test_nothing_to_take_back_is_no_change() -> None:
    current = policy({"role": "roles/viewer", "members": ["user:b@example.com"]})
    result = subtract(current, [WantedBinding("roles/viewer", ("user:a@example.com",))])
    assert not result.changed
    assert result.diffs == ()
    assert result.policy == current
