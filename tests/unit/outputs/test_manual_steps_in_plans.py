"""Manual OAuth steps in plans: shown as `!` checklist items, never counted as changes."""

from __future__ import annotations

from pathlib import Path

from provision import planfile
from provision.blueprint.oauth import manual_changes
from provision.model import Action, Address, Change, Plan
from provision.outputs import plan_text
from tests.unit.outputs.blueprints import CLIENT_ID, blueprint


def manual_only() -> Plan:
    bp = blueprint(oauth={"clientId": CLIENT_ID, "origins": ["https://viewer.example.org"]})
    noop = Change(Address("project", "projects/demo-imaging"), Action.NOOP)
    return Plan("b.yaml", "0" * 64, (noop, *manual_changes(bp)))


def test_a_plan_with_only_manual_steps_has_no_changes_and_lists_them() -> None:
    plan = manual_only()
    assert not plan.has_changes
    text = plan_text.render(plan)
    assert text.startswith("No changes. The live state matches the blueprint.\n")
    assert "Manual steps (no API can do these; check each is done):" in text
    assert "! oauth.checklist:projects/demo-imaging/oauth/web-client  (manual)" in text
    assert "[ ] Authorized redirect URIs: https://viewer.example.org/callback" in text
    assert "[ ] Authorized JavaScript origins: https://viewer.example.org" in text
    assert "cloud-healthcare" in text and "cloudplatformprojects.readonly" in text


def test_manual_steps_survive_a_saved_plan(tmp_path: Path) -> None:
    plan = manual_only()
    path = tmp_path / "plan.json"
    planfile.write(plan, path)
    again = planfile.read(path)
    assert [c.action for c in again.changes] == [c.action for c in plan.changes]
    assert again.changes[-1].after == plan.changes[-1].after
    assert not again.has_changes
