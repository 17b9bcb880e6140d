"""The example GitHub Actions workflow: structure, keyless auth, and shell that parses."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

WORKFLOW = Path(__file__).parents[2] / "examples" / "github-actions" / "provision.yml"
ALLOWED_ACTION_OWNERS = ("actions/", "google-github-actions/")


def load() -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text())
    return data


def steps(job: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = load()["jobs"][job]["steps"]
    return result


def run_scripts() -> list[str]:
    jobs = load()["jobs"]
    scripts = [step["run"] for job in jobs.values() for step in job["steps"] if "run" in step]
    # Expressions are substituted by Actions before the shell sees the script.
    return [re.sub(r"\$\{\{[^}]*\}\}", "0", script) for script in scripts]


def test_triggers() -> None:
    # PyYAML reads the bare key `on` as True.
    triggers = load()[True]
    assert set(triggers) == {"pull_request", "push"}
    assert triggers["push"]["branches"] == ["main"]


def test_plan_runs_on_pull_requests_and_posts_markdown_with_gh() -> None:
    job = load()["jobs"]["plan"]
    assert job["if"] == "github.event_name == 'pull_request'"
    assert job["permissions"] == {
        "contents": "read",
        "id-token": "write",
        "pull-requests": "write",
    }
    scripts = "\n".join(step.get("run", "") for step in job["steps"])
    assert "provision plan" in scripts
    assert "--format markdown" in scripts
    assert "--detailed-exitcode" in scripts
    assert "gh pr comment" in scripts


def test_apply_runs_on_main_with_yes() -> None:
    job = load()["jobs"]["apply"]
    assert "refs/heads/main" in job["if"]
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    assert any(step.get("run") == 'provision apply "$BLUEPRINT" --yes' for step in job["steps"])


@pytest.mark.parametrize("job", ["plan", "apply"])
def test_keyless_auth_through_workload_identity_federation(job: str) -> None:
    auth = [s for s in steps(job) if s.get("uses", "").startswith("google-github-actions/auth@")]
    assert len(auth) == 1
    settings = auth[0]["with"]
    assert set(settings) == {"workload_identity_provider", "service_account"}
    assert "credentials_json" not in WORKFLOW.read_text()
    assert "secrets." not in WORKFLOW.read_text()


def test_only_first_party_actions() -> None:
    used = [
        step["uses"] for job in load()["jobs"].values() for step in job["steps"] if "uses" in step
    ]
    assert used
    assert all(action.startswith(ALLOWED_ACTION_OWNERS) for action in used), used


def test_apply_is_never_cancelled_half_way() -> None:
    assert load()["concurrency"]["cancel-in-progress"] is False


@pytest.mark.parametrize("index", range(len(run_scripts())))
def test_run_scripts_parse(index: int) -> None:
    script = run_scripts()[index]
    subprocess.run(["bash", "-n"], input=script, text=True, check=True)
    if shutil.which("shellcheck") is not None:
        result = subprocess.run(
            ["shellcheck", "--shell=bash", "-"],
            input=script,
            text=True,
            capture_output=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout
