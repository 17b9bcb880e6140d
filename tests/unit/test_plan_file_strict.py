"""Plan files are read strictly: anything but a well-formed plan is a one-line error."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from provision import planfile
from provision.model import Plan
from tests.unit.blocking import finishes

CHANGE: dict[str, Any] = {
    "address": "project:projects/demo-imaging",
    "kind": "project",
    "name": "projects/demo-imaging",
    "action": "update",
    "before": {"labels": {}},
    "after": {"projectId": "demo-imaging", "labels": {"env": "dev"}},
    "diffs": [{"path": "labels.env", "before": None, "after": "dev"}],
    "reason": "",
    "etag": None,
    "depends_on": [],
    "observed_exists": True,
}


def document(*changes: dict[str, Any]) -> dict[str, Any]:
    return {
        "format_version": 1,
        "blueprint": {"path": "/srv/blueprint.yaml", "digest": "0" * 64},
        "changes": list(changes) or [CHANGE],
    }


def read(tmp_path: Path, content: Any) -> Plan:
    path = tmp_path / "plan.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return planfile.read(path)


def one_line_error(tmp_path: Path, content: Any, *expected: str) -> str:
    with pytest.raises(planfile.PlanFileError) as raised:
        read(tmp_path, content)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(str(tmp_path / "plan.json"))
    for text in expected:
        assert text in message
    return message


def test_a_well_formed_plan_reads(tmp_path: Path) -> None:
    plan = read(tmp_path, document())
    assert plan.changes[0].observed_exists is True
    assert plan.blueprint_path == "/srv/blueprint.yaml"


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("observed_exists", "yes", "must be true, false or null"),
        ("observed_exists", 1, "must be true, false or null"),
        ("after", ["not", "an", "object"], "changes[0].after: must be an object or null"),
        ("before", "text", "changes[0].before"),
        ("action", "explode", "'explode' is not one of"),
        ("action", 3, "changes[0].action: must be a string"),
        ("etag", 7, "changes[0].etag: must be a string"),
        ("depends_on", "project:x", "changes[0].depends_on: must be a list"),
        ("depends_on", ["nothing-here"], "not an address"),
        ("diffs", [{"before": 1}], "the field 'path' is missing"),
        ("address", "project:projects/other", "does not match kind and name"),
        ("surprise", True, "unknown field 'surprise'"),
    ],
)
def test_each_field_has_its_type(tmp_path: Path, field: str, value: Any, expected: str) -> None:
    one_line_error(tmp_path, document({**CHANGE, field: value}), expected)


def test_the_format_version_is_the_number_one(tmp_path: Path) -> None:
    one_line_error(tmp_path, {**document(), "format_version": True}, "format_version true")
    one_line_error(tmp_path, {**document(), "format_version": 1.0}, "format_version 1.0")


def test_the_blueprint_is_named(tmp_path: Path) -> None:
    one_line_error(tmp_path, {**document(), "blueprint": {"digest": "x"}}, "'path' is missing")
    bad = {**document(), "blueprint": {"path": 5, "digest": "x"}}
    one_line_error(tmp_path, bad, "blueprint.path: must be a string")


def test_no_field_is_unknown(tmp_path: Path) -> None:
    one_line_error(
        tmp_path, {**document(), "run_first": []}, "plan.json: unknown field 'run_first'"
    )
    extra = {**document(), "blueprint": {"path": "/b.yaml", "digest": "x", "also": "/c.yaml"}}
    one_line_error(tmp_path, extra, "blueprint: unknown field 'also'")
    diff = {"path": "labels.env", "before": None, "after": "dev", "apply": True}
    one_line_error(tmp_path, document({**CHANGE, "diffs": [diff]}), "unknown field 'apply'")


def test_the_site_of_a_plan_is_kept(tmp_path: Path) -> None:
    assert read(tmp_path, document()).site is None
    one_site = {**document(), "blueprint": {"path": "/b.yaml", "digest": "x", "site": "north"}}
    assert read(tmp_path, one_site).site == "north"
    assert planfile.to_document(read(tmp_path, one_site))["blueprint"]["site"] == "north"
    bad = {**document(), "blueprint": {"path": "/b.yaml", "digest": "x", "site": 3}}
    one_line_error(tmp_path, bad, "blueprint.site: must be a string")


def test_the_document_names_the_blueprint_by_its_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    relative = Plan(blueprint_path="dev.yaml", blueprint_digest="x", changes=())
    assert planfile.to_document(relative)["blueprint"]["path"] == str(tmp_path / "dev.yaml")


def test_addresses_are_unique_and_dependencies_known(tmp_path: Path) -> None:
    one_line_error(tmp_path, document(CHANGE, CHANGE), "appears twice")
    orphan = {**CHANGE, "depends_on": ["services:projects/demo-imaging/services"]}
    one_line_error(tmp_path, document(orphan), "is not a change of this plan")


def test_a_dependency_cycle_is_refused(tmp_path: Path) -> None:
    a = {**CHANGE, "depends_on": ["billing:projects/demo-imaging/billingInfo"]}
    b = {
        **CHANGE,
        "address": "billing:projects/demo-imaging/billingInfo",
        "kind": "billing",
        "name": "projects/demo-imaging/billingInfo",
        "depends_on": ["project:projects/demo-imaging"],
    }
    one_line_error(tmp_path, document(a, b), "dependency cycle", "project:projects/demo-imaging")


def test_a_long_chain_of_dependencies_is_fine(tmp_path: Path) -> None:
    chain = [
        {
            **CHANGE,
            "address": f"project:projects/p{i}",
            "name": f"projects/p{i}",
            "depends_on": [f"project:projects/p{i - 1}"] if i else [],
        }
        for i in range(5000)
    ]
    assert len(read(tmp_path, document(*chain)).changes) == 5000


def test_a_plan_nested_100000_levels_deep_is_one_line(tmp_path: Path) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    text = json.dumps(document()).replace('"reason": ""', f'"reason": {deep}')
    one_line_error(tmp_path, text, "nested more than")
    nested: Any = "x"
    for _ in range(100):
        nested = {"a": nested}
    one_line_error(tmp_path, document({**CHANGE, "after": nested}), "nested more than 64")


def test_a_fifo_is_not_a_plan_and_is_never_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "plan.json"
    os.mkfifo(fifo)

    def check() -> None:
        assert not planfile.looks_like_plan(fifo)
        with pytest.raises(planfile.PlanFileError, match="it is a FIFO"):
            planfile.read(fifo)

    finishes(check)
