"""Plan files round-trip; renderers show what the plan does."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from provision import planfile
from provision.model import Action, Address, Change, FieldDiff, Plan
from provision.outputs import plan_json, plan_markdown, plan_text
from provision.resources.symbols import Facts, project_number_ref, resolve, unresolved

AGENT = (
    f"serviceAccount:service-{project_number_ref('demo-imaging')}"
    "@gcp-sa-healthcare.iam.gserviceaccount.com"
)

PLAN = Plan(
    blueprint_path="blueprints/dev.yaml",
    blueprint_digest="abc123",
    changes=(
        Change(
            Address("project", "projects/demo-imaging"),
            Action.CREATE,
            after={"projectId": "demo-imaging", "labels": {"env": "dev"}, "create": True},
            diffs=(
                FieldDiff("projectId", None, "demo-imaging"),
                FieldDiff("labels", None, {"env": "dev"}),
            ),
            observed_exists=False,
        ),
        Change(
            Address("services", "projects/demo-imaging/services"),
            Action.UPDATE,
            before={"enabled": ["storage.googleapis.com"]},
            after={
                "projectId": "demo-imaging",
                "services": ["healthcare.googleapis.com", "storage.googleapis.com"],
            },
            diffs=(
                FieldDiff(
                    "services",
                    ["storage.googleapis.com"],
                    ["healthcare.googleapis.com", "storage.googleapis.com"],
                ),
            ),
            depends_on=(Address("project", "projects/demo-imaging"),),
            observed_exists=True,
        ),
        Change(
            Address("project_iam", "projects/demo-imaging"),
            Action.UPDATE,
            before={
                "etag": "BwX1",
                "bindings": [{"role": "roles/viewer", "members": ["user:bob@example.com"]}],
            },
            after={
                "bindings": [
                    {
                        "role": "roles/viewer",
                        "members": ["user:alice@example.com", AGENT],
                        "authoritative": True,
                    }
                ]
            },
            diffs=(
                FieldDiff(
                    "bindings[roles/viewer]",
                    ["user:bob@example.com"],
                    ["user:alice@example.com", AGENT],
                ),
            ),
            reason="authoritative roles/viewer removes user:bob@example.com",
            etag="BwX1",
            depends_on=(Address("project", "projects/demo-imaging"),),
            observed_exists=True,
        ),
        Change(Address("healthcare.dicom_import", "x"), Action.RUN, after={}),
        Change(
            Address("manual", "oauth-consent-screen"),
            Action.MANUAL,
            after={
                "checklist": [
                    "Open APIs & Services > OAuth consent screen",
                    "Add the viewer origin",
                ]
            },
            reason="the OAuth consent screen has no API",
        ),
        Change(Address("billing", "projects/demo-imaging/billingInfo"), Action.NOOP),
    ),
    warnings=("something to know",),
)


def test_plan_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    planfile.write(PLAN, path)
    assert planfile.looks_like_plan(path)
    absolute = str(Path("blueprints/dev.yaml").absolute())
    assert planfile.read(path) == replace(PLAN, blueprint_path=absolute)
    document = json.loads(path.read_text())
    assert document["format_version"] == 1
    assert document["blueprint"] == {
        "path": absolute,
        "digest": "abc123",
        "relative_path": os.path.relpath(absolute, tmp_path),
    }
    assert document["changes"][2]["etag"] == "BwX1"
    assert plan_json.render(replace(PLAN, blueprint_path=absolute)) == path.read_text().replace(
        ',\n    "relative_path": ' + json.dumps(os.path.relpath(absolute, tmp_path)), ""
    )


def test_plan_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format_version": 99, "changes": []}')
    with pytest.raises(planfile.PlanFileError, match="format_version 99"):
        planfile.read(bad)
    blueprint = tmp_path / "bp.yaml"
    blueprint.write_text("project:\n  id: demo-imaging\n")
    assert not planfile.looks_like_plan(blueprint)
    with pytest.raises(planfile.PlanFileError, match="cannot read"):
        planfile.read(tmp_path / "missing.json")


def test_text_rendering() -> None:
    text = plan_text.render(PLAN)
    assert "  + project:projects/demo-imaging" in text
    assert "  ~ services:projects/demo-imaging/services" in text
    assert "+ healthcare.googleapis.com" in text
    assert "- user:bob@example.com" in text
    assert "known after apply" in text
    assert "  ! manual:oauth-consent-screen  (manual)" in text
    assert "[ ] Open APIs & Services > OAuth consent screen" in text
    assert "billing:" not in text  # no-ops are not shown
    assert text.rstrip().splitlines()[-1] == (
        "Plan: 1 to create, 2 to update, 0 to delete, 1 to run, 1 manual step."
    )
    assert "something to know" not in text  # warnings go to stderr (provision.cli.terminal)


def test_no_changes() -> None:
    empty = Plan("bp.yaml", "d", (Change(Address("project", "projects/p"), Action.NOOP),))
    assert plan_text.render(empty).startswith("No changes.")
    assert not empty.has_changes
    assert "No changes" in plan_markdown.render(empty)


def test_markdown_rendering() -> None:
    text = plan_markdown.render(PLAN)
    assert "**Plan: 1 to create, 2 to update" in text
    assert "| `+` | `project:projects/demo-imaging` | create |" in text
    assert "```diff" in text
    assert "- [ ] `manual:oauth-consent-screen`" in text


def test_symbols_resolve_when_known() -> None:
    assert unresolved(PLAN.changes[2].after) == {"demo-imaging"}
    resolved = resolve(PLAN.changes[2].after, {"project_number/demo-imaging": "123"})
    assert "service-123@gcp-sa-healthcare" in json.dumps(resolved)
    facts = Facts(lookup=lambda key: "456" if key == "project_number/demo-imaging" else None)
    assert "service-456@" in json.dumps(facts.resolve_fully(AGENT, "x"))
    with pytest.raises(Exception, match="not known yet"):
        Facts().resolve_fully(AGENT, "x")
