"""A saved plan applies exactly what it shows, or nothing: edited plan files, moved plans and
plans whose blueprint is gone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from provision.emulator.server import RunningEmulator
from tests.e2e.conftest import PROJECT, CliFn, clear_journal, mutations

OWNER = "user:attacker@example.com"
ROLE = "roles/editor"


def policy_members(google: Any, role: str) -> list[str]:
    crm = google("cloudresourcemanager", "v3")
    policy = crm.projects().getIamPolicy(resource=f"projects/{PROJECT}", body={}).execute()
    return sorted(m for b in policy.get("bindings", []) if b["role"] == role for m in b["members"])


def saved_after_a_change(cli: CliFn, blueprint: Path, tmp_path: Path) -> Path:
    """Apply the blueprint, then add bob as DICOM viewer and save that plan."""
    assert cli("apply", blueprint, "--yes").exit_code == 0
    text = blueprint.read_text().replace(
        "[user:alice@example.com]", "[user:alice@example.com, user:bob@example.com]"
    )
    blueprint.write_text(text)
    saved = tmp_path / "plan.json"
    made = cli("plan", blueprint, "--out", saved)
    assert made.exit_code == 0, made.output
    return saved


def edit(saved: Path, address: str, **fields: Any) -> None:
    document = json.loads(saved.read_text())
    change = next(c for c in document["changes"] if c["address"] == address)
    change.update(fields)
    saved.write_text(json.dumps(document))


def test_an_extra_owner_in_an_unread_change_is_refused(
    cli: CliFn, blueprint: Path, tmp_path: Path, emulator: RunningEmulator, google: Any
) -> None:
    saved = saved_after_a_change(cli, blueprint, tmp_path)
    change = json.loads(saved.read_text())["changes"]
    iam = next(c for c in change if c["kind"] == "project_iam")
    after = dict(iam["after"])
    after["bindings"] = [*after["bindings"], {"role": ROLE, "members": [OWNER]}]
    edit(saved, iam["address"], observed_exists=None, after=after)
    clear_journal(emulator)
    applied = cli("apply", saved)
    assert applied.exit_code == 1, applied.output
    assert "does not hold together" in applied.stderr
    assert f"project_iam:projects/{PROJECT}" in applied.stderr
    assert mutations(emulator) == []
    assert OWNER not in policy_members(google, ROLE)


def test_an_owner_hidden_in_the_saved_before_is_never_written(
    cli: CliFn, blueprint: Path, tmp_path: Path, emulator: RunningEmulator, google: Any
) -> None:
    """The write starts from the policy read again under the lease, not the file's `before`."""
    saved = saved_after_a_change(cli, blueprint, tmp_path)
    iam = next(c for c in json.loads(saved.read_text())["changes"] if c["kind"] == "project_iam")
    before = dict(iam["before"])
    before["bindings"] = [*before["bindings"], {"role": ROLE, "members": [OWNER]}]
    edit(saved, iam["address"], before=before)
    applied = cli("apply", saved)
    assert applied.exit_code == 0, applied.output
    assert "user:bob@example.com" in policy_members(google, "roles/healthcare.dicomViewer")
    assert OWNER not in policy_members(google, ROLE)


def test_a_disable_edited_into_a_plan_needs_the_flag(
    cli: CliFn, blueprint: Path, tmp_path: Path, emulator: RunningEmulator
) -> None:
    assert cli("apply", blueprint, "--yes").exit_code == 0
    blueprint.write_text(
        blueprint.read_text().replace(
            "  - storage.googleapis.com\n",
            "  - storage.googleapis.com\n  - pubsub.googleapis.com\n",
        )
    )
    saved = tmp_path / "plan.json"
    assert cli("plan", blueprint, "--out", saved).exit_code == 0
    wanted = ["healthcare.googleapis.com", "pubsub.googleapis.com", "storage.googleapis.com"]
    edit(
        saved,
        f"services:projects/{PROJECT}/services",
        observed_exists=None,
        diffs=[
            {
                "path": "services",
                "before": ["healthcare.googleapis.com", "storage.googleapis.com"],
                "after": [s for s in wanted if s != "storage.googleapis.com"],
            }
        ],
    )
    clear_journal(emulator)
    applied = cli("apply", saved)
    assert applied.exit_code == 1, applied.output
    assert "does not hold together" in applied.stderr
    assert mutations(emulator) == []


def test_a_plan_applied_from_another_folder_still_checks_its_blueprint(
    cli: CliFn,
    blueprint: Path,
    tmp_path: Path,
    emulator: RunningEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli("plan", blueprint.name, "--out", "plan.json").exit_code == 0
    blueprint.write_text(blueprint.read_text().replace("env: test", "env: other"))
    monkeypatch.chdir("/")
    clear_journal(emulator)
    refused = cli("apply", tmp_path / "plan.json")
    assert refused.exit_code == 1, refused.output
    assert "stale" in refused.stderr and str(blueprint) in refused.stderr
    assert mutations(emulator) == []


def test_a_plan_whose_blueprint_is_gone_is_refused(
    cli: CliFn, blueprint: Path, tmp_path: Path, emulator: RunningEmulator
) -> None:
    saved = tmp_path / "plan.json"
    assert cli("plan", blueprint, "--out", saved).exit_code == 0
    blueprint.unlink()
    clear_journal(emulator)
    refused = cli("apply", saved)
    assert refused.exit_code == 1
    assert "cannot be found" in refused.stderr and str(blueprint) in refused.stderr
    assert mutations(emulator) == []


def test_a_plan_moved_with_its_blueprint_applies(
    cli: CliFn, blueprint: Path, tmp_path: Path, emulator: RunningEmulator
) -> None:
    saved = tmp_path / "plan.json"
    assert cli("plan", blueprint, "--out", saved).exit_code == 0
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    shutil.move(saved, moved / "plan.json")
    shutil.move(blueprint, moved / blueprint.name)
    applied = cli("apply", moved / "plan.json")
    assert applied.exit_code == 0, applied.output
    assert str(moved / blueprint.name) in applied.stdout


def test_a_change_outside_the_blueprint_is_refused(
    cli: CliFn, blueprint: Path, tmp_path: Path, emulator: RunningEmulator
) -> None:
    saved = tmp_path / "plan.json"
    assert cli("plan", blueprint, "--out", saved).exit_code == 0
    document = json.loads(saved.read_text())
    other = dict(document["changes"][0])
    other.update(address="project:projects/someone-else", name="projects/someone-else")
    document["changes"].append(other)
    saved.write_text(json.dumps(document))
    clear_journal(emulator)
    refused = cli("apply", saved)
    assert refused.exit_code == 1
    assert "project:projects/someone-else" in refused.stderr
    assert "does not declare" in refused.stderr
    assert mutations(emulator) == []


def test_saved_plans_of_every_kind_apply(
    cli: CliFn, tmp_path: Path, emulator: RunningEmulator
) -> None:
    """Re-deriving each change from its saved before/after accepts real plans of every kind:
    from an empty world, then after the blueprint changed (labels, IAM, a new site)."""
    target = tmp_path / "blueprints"
    shutil.copytree(Path(__file__).resolve().parents[2] / "blueprints", target)
    dev = target / "dev.yaml"
    saved = tmp_path / "plan.json"
    assert cli("plan", dev, "--out", saved).exit_code == 0
    first = cli("apply", saved)
    assert first.exit_code == 0, first.output
    (target / "sites" / "st-marys.yaml").write_text("name: st-marys\n")
    dev.write_text(dev.read_text().replace("env: dev", "env: development"))
    second = cli("plan", dev, "--out", saved)
    assert second.exit_code == 0 and "~ " in second.stdout, second.output
    applied = cli("apply", saved)
    assert applied.exit_code == 0, applied.output
    assert cli("plan", dev, "--detailed-exitcode").exit_code == 0
