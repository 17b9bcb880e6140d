"""The example GitHub Actions workflow, run: its `run` steps, in order, as the jobs would run them
(the workflow's and the steps' `env`, `${{ }}` expressions filled in, `$GITHUB_OUTPUT`, `if:`
conditions), with `provision` from this checkout against the emulator and `gh` a stub that
records the comment. So the example cannot drift from the CLI: a renamed flag or a changed
exit code fails here. The install and authentication steps are GitHub's and are skipped."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from provision.emulator.server import RunningEmulator
from tests.e2e.cli import FAST_ENV
from tests.e2e.conftest import control

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / "examples" / "github-actions" / "provision.yml"
GH_STUB = """#!/bin/sh
# Records each call; answers `gh api` with nothing (no earlier comment).
echo "$*" >> "$GH_CALLS"
for arg in "$@"; do
  case "$prev" in --body-file) cp "$arg" "$GH_CALLS.body" ;; esac
  prev="$arg"
done
"""
CONTEXT = {
    "github.token": "token-not-used",
    "github.event.pull_request.number": "7",
    "github.server_url": "https://github.com",
    "github.repository": "example/imaging",
    "github.run_id": "1",
    "github.ref": "refs/heads/main",
    "github.event_name": "pull_request",
}


class Job:
    """One job of the workflow run by bash, step by step."""

    def __init__(self, spec: dict[str, Any], env: dict[str, str], cwd: Path) -> None:
        self.spec, self.env, self.cwd = spec, env, cwd
        self.outputs: dict[str, dict[str, str]] = {}
        self.outcomes: dict[str, str] = {}

    def expression(self, text: str) -> str:
        text = text.strip()
        found = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", text)
        if found:
            return self.outputs.get(found[1], {}).get(found[2], "")
        assert text in CONTEXT, f"the test does not know the expression ${{{{ {text} }}}}"
        return CONTEXT[text]

    def fill(self, text: str) -> str:
        return re.sub(r"\$\{\{(.*?)\}\}", lambda m: self.expression(m[1]), text)

    def condition(self, text: str) -> bool:
        expression = self.fill(text.replace("${{", "").replace("}}", ""))
        expression = re.sub(
            r"steps\.([\w-]+)\.outcome",
            lambda m: repr(self.outcomes.get(m[1], "skipped")),
            expression,
        )
        expression = re.sub(
            r"steps\.([\w-]+)\.outputs\.([\w-]+)", lambda m: repr(self.expression(m[0])), expression
        )
        expression = expression.replace("always()", "True").replace("&&", " and ")
        expression = expression.replace("||", " or ").replace("!=", " != ")
        return bool(eval(expression, {}, {}))

    def run(self) -> list[subprocess.CompletedProcess[str]]:
        done = []
        for step in self.spec["steps"]:
            if "run" not in step or step.get("name", "").startswith("Install"):
                continue
            if "if" in step and not self.condition(step["if"]):
                continue
            output = self.cwd / "github_output"
            output.write_text("", encoding="utf-8")
            env = {**self.env, **{k: self.fill(str(v)) for k, v in (step.get("env") or {}).items()}}
            env["GITHUB_OUTPUT"] = str(output)
            result = subprocess.run(
                ["bash", "-e", "-o", "pipefail", "-c", self.fill(step["run"])],
                cwd=self.cwd,
                env=env,
                capture_output=True,
                text=True,
                check=False,
                timeout=300,
            )
            done.append(result)
            step_id = step.get("id", step.get("name", ""))
            self.outcomes[step_id] = "success" if result.returncode == 0 else "failure"
            pairs = [line.split("=", 1) for line in output.read_text().splitlines() if "=" in line]
            self.outputs[step_id] = dict(pairs)
            assert result.returncode == 0, f"step {step_id!r} failed:\n{result.stderr}"
        return done


@pytest.fixture
def workspace(tmp_path: Path, emulator: RunningEmulator) -> tuple[Path, dict[str, str]]:
    control(emulator, "reset")
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    blueprint = Path(workflow["env"]["BLUEPRINT"])
    target = tmp_path / blueprint.parent
    shutil.copytree(REPO / "blueprints", target)
    shutil.copy(REPO / "blueprints" / "dev.yaml", tmp_path / blueprint)
    stubs = tmp_path / "bin"
    stubs.mkdir()
    (stubs / "gh").write_text(GH_STUB, encoding="utf-8")
    (stubs / "gh").chmod(0o755)
    path = os.pathsep.join([str(stubs), str(Path(sys.executable).parent), os.environ["PATH"]])
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PROVISION_")},
        **FAST_ENV,
        **{k: str(v) for k, v in workflow["env"].items()},
        "PATH": path,
        "PROVISION_ENDPOINT": emulator.base_url,
        "GH_CALLS": str(tmp_path / "gh-calls"),
        "GITHUB_REPOSITORY": CONTEXT["github.repository"],  # set by Actions in every job
    }
    return tmp_path, env


def jobs() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]
    return loaded


def test_the_example_workflow_plans_comments_applies_and_then_has_nothing_to_do(
    workspace: tuple[Path, dict[str, str]],
) -> None:
    cwd, env = workspace
    plan = Job(jobs()["plan"], env, cwd)
    plan.run()
    assert plan.outputs["plan"]["exitcode"] == "2"  # changes to apply
    assert "Plan: " in (cwd / "plan.md").read_text(encoding="utf-8")
    calls = (cwd / "gh-calls").read_text(encoding="utf-8")
    assert "pr comment 7 --repo example/imaging --body-file comment.md" in calls
    comment = Path(f"{env['GH_CALLS']}.body").read_text(encoding="utf-8")
    assert comment.startswith("<!-- provision-plan -->") and "Changes to apply on merge:" in comment

    Job(jobs()["apply"], env, cwd).run()

    again = Job(jobs()["plan"], env, cwd)
    again.run()
    assert again.outputs["plan"]["exitcode"] == "0"
    assert "No changes." in Path(f"{env['GH_CALLS']}.body").read_text(encoding="utf-8")
