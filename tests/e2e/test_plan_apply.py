"""End to end through the CLI on the emulator: plan, apply, converge, drift, stale plans."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from provision.emulator.server import RunningEmulator
from tests.e2e.conftest import (
    BILLING,
    PROJECT,
    CliFn,
    clear_journal,
    journal,
    mutations,
    set_faults,
    write_after_the_check,
)


def calls(emulator: RunningEmulator, api: str, method_id: str) -> list[dict[str, Any]]:
    return [e for e in journal(emulator) if (e["api"], e["method_id"]) == (api, method_id)]


def policy_of(google: Any) -> dict[str, Any]:
    crm = google("cloudresourcemanager", "v3")
    policy: dict[str, Any] = (
        crm.projects().getIamPolicy(resource=f"projects/{PROJECT}", body={}).execute()
    )
    return policy


def members(policy: dict[str, Any], role: str) -> list[str]:
    return sorted(m for b in policy.get("bindings", []) if b["role"] == role for m in b["members"])


def test_new_project_applies_from_scratch_and_converges(
    cli: CliFn, blueprint: Path, emulator: RunningEmulator, google: Any
) -> None:
    first = cli("plan", blueprint, "--detailed-exitcode")
    assert first.exit_code == 2, first.output
    assert f"+ project:projects/{PROJECT}" in first.stdout
    assert f"+ services:projects/{PROJECT}/services" in first.stdout
    assert "Plan: 4 to create, 0 to update, 0 to delete, 0 to run, 0 manual steps." in first.stdout
    assert mutations(emulator) == []

    applied = cli("apply", blueprint, "--yes")
    assert applied.exit_code == 0, applied.output
    assert "Apply complete: 4 done, 0 failed, 0 skipped." in applied.stdout

    crm = google("cloudresourcemanager", "v3")
    project = crm.projects().get(name=f"projects/{PROJECT}").execute()
    assert project["displayName"] == "E2E imaging"
    assert project["labels"]["env"] == "test"
    billing = google("cloudbilling", "v1")
    info = billing.projects().getBillingInfo(name=f"projects/{PROJECT}").execute()
    assert info["billingAccountName"] == BILLING
    su = google("serviceusage", "v1")
    enabled = su.services().list(parent=f"projects/{PROJECT}", filter="state:ENABLED").execute()
    names = {s["name"].rsplit("/", 1)[-1] for s in enabled.get("services", [])}
    assert {"healthcare.googleapis.com", "storage.googleapis.com"} <= names
    policy = policy_of(google)
    assert "user:alice@example.com" in members(policy, "roles/healthcare.dicomViewer")
    assert "group:radiology@example.com" in members(policy, "roles/viewer")

    clear_journal(emulator)
    second = cli("plan", blueprint, "--detailed-exitcode")
    assert second.exit_code == 0, second.output
    assert second.stdout.startswith("No changes.")
    reads = journal(emulator)
    assert all(not e["mutating"] for e in reads)
    # one read per object: project, billing info, one services.list page, project policy
    assert len(reads) == 4, [e["method_id"] for e in reads]
    assert len({(e["method"], e["path"]) for e in reads}) == len(reads)

    clear_journal(emulator)
    again = cli("apply", blueprint, "--yes")
    assert again.exit_code == 0, again.output
    assert mutations(emulator) == []


def test_drift_made_out_of_band_is_detected(cli: CliFn, blueprint: Path, google: Any) -> None:
    assert cli("apply", blueprint, "--yes").exit_code == 0
    policy = policy_of(google)
    for binding in policy["bindings"]:
        if binding["role"] == "roles/viewer":
            binding["members"] = [
                m for m in binding["members"] if m != "group:radiology@example.com"
            ]
    policy["bindings"] = [b for b in policy["bindings"] if b["members"]]
    crm = google("cloudresourcemanager", "v3")
    crm.projects().setIamPolicy(resource=f"projects/{PROJECT}", body={"policy": policy}).execute()
    crm.projects().patch(
        name=f"projects/{PROJECT}", updateMask="labels", body={"labels": {"env": "prod"}}
    ).execute()

    drift = cli("plan", blueprint, "--detailed-exitcode")
    assert drift.exit_code == 2, drift.output
    assert f"~ project_iam:projects/{PROJECT}" in drift.stdout
    assert "+ group:radiology@example.com" in drift.stdout
    assert 'labels.env: "prod" -> "test"' in drift.stdout
    assert "Plan: 0 to create, 2 to update" in drift.stdout

    fixed = cli("apply", blueprint, "--yes")
    assert fixed.exit_code == 0, fixed.output
    assert cli("plan", blueprint, "--detailed-exitcode").exit_code == 0


def test_saved_plan_applies_and_a_stale_one_is_refused(
    cli: CliFn, blueprint: Path, tmp_path: Path, emulator: RunningEmulator, google: Any
) -> None:
    saved = tmp_path / "plan.json"
    made = cli("plan", blueprint, "--out", saved)
    assert made.exit_code == 0, made.output
    document = json.loads(saved.read_text())
    assert document["format_version"] == 1
    assert document["blueprint"]["path"] == str(blueprint)

    # Someone creates the project between plan and apply: the plan is stale.
    google("cloudresourcemanager", "v3").projects().create(body={"projectId": PROJECT}).execute()
    clear_journal(emulator)
    stale = cli("apply", saved)
    assert stale.exit_code == 1
    assert "stale" in stale.stderr
    assert mutations(emulator) == []


def test_stale_iam_plan_names_what_changed(
    cli: CliFn, blueprint: Path, tmp_path: Path, emulator: RunningEmulator, google: Any
) -> None:
    assert cli("apply", blueprint, "--yes").exit_code == 0
    text = blueprint.read_text().replace(
        "members: [group:radiology@example.com]",
        "members: [group:radiology@example.com]\n    authoritative: true",
    )
    blueprint.write_text(text)
    policy = policy_of(google)
    policy["bindings"].append({"role": "roles/viewer", "members": ["user:intruder@example.com"]})
    crm = google("cloudresourcemanager", "v3")
    crm.projects().setIamPolicy(resource=f"projects/{PROJECT}", body={"policy": policy}).execute()

    saved = tmp_path / "plan.json"
    planned = cli("plan", blueprint, "--out", saved)
    assert "- user:intruder@example.com" in planned.stdout
    # The intruder leaves on their own: the planned removal no longer matches.
    policy = policy_of(google)
    for binding in policy["bindings"]:
        binding["members"] = [m for m in binding["members"] if m != "user:intruder@example.com"]
    policy["bindings"] = [b for b in policy["bindings"] if b["members"]]
    crm.projects().setIamPolicy(resource=f"projects/{PROJECT}", body={"policy": policy}).execute()
    clear_journal(emulator)
    stale = cli("apply", saved)
    assert stale.exit_code == 1
    assert f"project_iam:projects/{PROJECT}" in stale.stderr
    assert "bindings[roles/viewer]" in stale.stderr
    assert mutations(emulator) == []


def test_changed_blueprint_makes_a_saved_plan_stale(
    cli: CliFn, blueprint: Path, tmp_path: Path, emulator: RunningEmulator
) -> None:
    saved = tmp_path / "plan.json"
    assert cli("plan", blueprint, "--out", saved).exit_code == 0
    blueprint.write_text(blueprint.read_text().replace("env: test", "env: other"))
    refused = cli("apply", saved)
    assert refused.exit_code == 1
    assert "changed since the plan was made" in refused.stderr
    assert mutations(emulator) == []


def test_concurrent_writer_is_not_lost_on_409(
    cli: CliFn,
    blueprint: Path,
    tmp_path: Path,
    emulator: RunningEmulator,
    google: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A concurrent write after the saved plan was checked makes the etag stale, setIamPolicy
    answers 409 ABORTED, and the read-modify-write restarts."""
    assert cli("apply", blueprint, "--yes").exit_code == 0
    blueprint.write_text(
        blueprint.read_text().replace(
            "[user:alice@example.com]", "[user:alice@example.com, user:bob@example.com]"
        )
    )
    saved = tmp_path / "plan.json"
    assert cli("plan", blueprint, "--out", saved).exit_code == 0

    def grant_another() -> None:
        policy = policy_of(google)
        policy["bindings"].append({"role": "roles/browser", "members": ["user:writer@example.com"]})
        crm = google("cloudresourcemanager", "v3")
        body = {"policy": policy}
        crm.projects().setIamPolicy(resource=f"projects/{PROJECT}", body=body).execute()

    write_after_the_check(monkeypatch, grant_another)
    clear_journal(emulator)
    applied = cli("apply", saved)
    assert applied.exit_code == 0, applied.output
    sets = calls(emulator, "cloudresourcemanager", "projects.setIamPolicy")
    assert [e["status"] for e in sets] == [200, 409, 200]  # the other writer's first
    final = policy_of(google)
    assert "user:writer@example.com" in members(final, "roles/browser")
    assert members(final, "roles/healthcare.dicomViewer") == [
        "user:alice@example.com",
        "user:bob@example.com",
    ]


def test_injected_409_on_set_iam_policy_is_retried(
    cli: CliFn, blueprint: Path, emulator: RunningEmulator, google: Any
) -> None:
    set_faults(
        emulator,
        rules=[
            {
                "api": "cloudresourcemanager",
                "method_id": "projects.setIamPolicy",
                "status": 409,
                "times": 2,
            }
        ],
    )
    applied = cli("apply", blueprint, "--yes")
    assert applied.exit_code == 0, applied.output
    sets = calls(emulator, "cloudresourcemanager", "projects.setIamPolicy")
    assert [e["status"] for e in sets] == [409, 409, 200]
    assert "user:alice@example.com" in members(policy_of(google), "roles/healthcare.dicomViewer")


def test_403_on_a_read_fails_the_plan(
    cli: CliFn, blueprint: Path, emulator: RunningEmulator
) -> None:
    assert cli("apply", blueprint, "--yes").exit_code == 0
    set_faults(
        emulator,
        rules=[
            {"api": "cloudresourcemanager", "method_id": "projects.getIamPolicy", "status": 403}
        ],
    )
    clear_journal(emulator)
    planned = cli("plan", blueprint, "--detailed-exitcode")
    assert planned.exit_code == 1
    assert "cannot plan" in planned.stderr
    assert f"project_iam:projects/{PROJECT}" in planned.stderr
    applied = cli("apply", blueprint, "--yes")
    assert applied.exit_code == 1
    assert mutations(emulator) == []


def test_missing_billing_fails_fast_and_skips_dependents(
    cli: CliFn, blueprint: Path, emulator: RunningEmulator
) -> None:
    blueprint.write_text(blueprint.read_text().replace(f"  billingAccount: {BILLING}\n", ""))
    applied = cli("apply", blueprint, "--yes")
    assert applied.exit_code == 1
    assert "link a billing account" in applied.stderr
    assert "Apply failed: 2 done, 1 failed, 0 skipped." in applied.stderr
    enables = [e for e in journal(emulator) if e["method_id"].endswith(("enable", "batchEnable"))]
    assert len(enables) == 1  # billing errors are not retried


def test_ambiguous_project_create_is_adopted(
    cli: CliFn, blueprint: Path, emulator: RunningEmulator
) -> None:
    set_faults(
        emulator,
        rules=[
            {
                "api": "cloudresourcemanager",
                "method_id": "projects.create",
                "status": 503,
                "after_commit": True,
                "times": 1,
            }
        ],
    )
    applied = cli("apply", blueprint, "--yes")
    assert applied.exit_code == 0, applied.output
    creates = calls(emulator, "cloudresourcemanager", "projects.create")
    assert [e["status"] for e in creates] == [503, 409]
    assert cli("plan", blueprint, "--detailed-exitcode").exit_code == 0


def test_apply_without_a_terminal_needs_yes(
    cli: CliFn, blueprint: Path, emulator: RunningEmulator
) -> None:
    refused = cli("apply", blueprint)
    assert refused.exit_code == 1
    assert "--yes" in refused.stderr
    assert mutations(emulator) == []
    assert cli("apply", blueprint, env={"PROVISION_YES": "1"}).exit_code == 0


def test_existing_project_that_must_not_be_created(cli: CliFn, blueprint: Path) -> None:
    blueprint.write_text(
        blueprint.read_text().replace("  displayName:", "  create: false\n  displayName:")
    )
    planned = cli("plan", blueprint)
    assert planned.exit_code == 1
    assert "either does not exist" in planned.stderr


def test_json_and_markdown_plans(cli: CliFn, blueprint: Path) -> None:
    as_json = cli("plan", blueprint, "--json")
    document = json.loads(as_json.stdout)
    assert document["summary"]["create"] == 4
    assert {c["kind"] for c in document["changes"]} == {
        "project",
        "billing",
        "services",
        "project_iam",
    }
    markdown = cli("plan", blueprint, "--format", "markdown")
    assert markdown.stdout.startswith("### provision plan for")


def test_plan_reads_run_in_dependency_waves(
    cli: CliFn, blueprint: Path, emulator: RunningEmulator
) -> None:
    """Project first; then billing, services and project IAM together (2 waves, not 4)."""
    assert cli("apply", blueprint, "--yes").exit_code == 0
    set_faults(emulator, latency_ms=150)
    clear_journal(emulator)
    assert cli("plan", blueprint, "--detailed-exitcode").exit_code == 0
    entries = journal(emulator)
    project = [e for e in entries if e["method_id"] == "projects.get"]
    others = [e for e in entries if e["method_id"] != "projects.get"]
    assert len(project) == 1 and len(others) == 3
    project_end = project[0]["start"] + project[0]["ms"] / 1000
    starts = [e["start"] for e in others]
    ends = [e["start"] + e["ms"] / 1000 for e in others]
    assert min(starts) >= project_end - 0.01  # the second wave waits for the project
    assert max(starts) < min(ends)  # ...and runs together: all three in flight at one moment


def test_errors_after_commit_on_every_write_still_converge(
    cli: CliFn, blueprint: Path, emulator: RunningEmulator
) -> None:
    """Each write commits and then answers 503 once: retries must adopt, not duplicate."""
    writes = [
        ("cloudresourcemanager", "projects.create"),
        ("cloudbilling", "projects.updateBillingInfo"),
        ("serviceusage", "services.batchEnable"),
        ("cloudresourcemanager", "projects.setIamPolicy"),
    ]
    set_faults(
        emulator,
        rules=[
            {"api": api, "method_id": method, "status": 503, "after_commit": True, "times": 1}
            for api, method in writes
        ],
    )
    applied = cli("apply", blueprint, "--yes")
    assert applied.exit_code == 0, applied.output
    injected = [e for e in journal(emulator) if e.get("injected") == "after-commit"]
    assert len(injected) == len(writes)
    assert [e["status"] for e in calls(emulator, "cloudresourcemanager", "projects.create")] == [
        503,
        409,
    ]
    clear_journal(emulator)
    assert cli("plan", blueprint, "--detailed-exitcode").exit_code == 0


def test_paced_writes_meet_the_emulated_quotas(
    cli: CliFn, blueprint: Path, emulator: RunningEmulator
) -> None:
    set_faults(emulator, quotas=True)
    applied = cli("apply", blueprint, "--yes", env={"PROVISION_PACING": "on"})
    assert applied.exit_code == 0, applied.output
    assert [e for e in journal(emulator) if e["status"] == 429] == []
