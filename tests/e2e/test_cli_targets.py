"""The CLI as users run it: the real entry point, `--emulator` state across runs, bad targets."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.cli import FAST_ENV, run_cli
from tests.e2e.conftest import PROJECT


def test_emulator_state_is_shared_between_runs(
    blueprint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PROVISION_ENDPOINT", raising=False)
    assert run_cli("plan", blueprint, "--emulator", "--detailed-exitcode").exit_code == 2
    applied = run_cli("apply", blueprint, "--emulator", "--yes")
    assert applied.exit_code == 0, applied.output
    assert (tmp_path / ".provision" / "emulator.db").is_file()
    again = run_cli("plan", blueprint, "--emulator", "--detailed-exitcode")
    assert again.exit_code == 0, again.output


def test_errors_are_plain_messages_from_the_real_entry_point(tmp_path: Path) -> None:
    env = {**os.environ, **FAST_ENV, "PROVISION_RETRY_ATTEMPTS": "2"}
    env.pop("PROVISION_ENDPOINT", None)
    missing = subprocess.run(
        [sys.executable, "-m", "provision.cli", "plan", str(tmp_path / "nope.yaml"), "--emulator"],
        capture_output=True,
        check=False,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: ")
    assert "Traceback" not in missing.stderr


def test_unreachable_endpoint_fails_the_plan_clearly(blueprint: Path) -> None:
    result = run_cli(
        "plan",
        blueprint,
        "--endpoint",
        "http://127.0.0.1:9",
        env={"PROVISION_RETRY_ATTEMPTS": "2"},
    )
    assert result.exit_code == 1
    assert "cannot plan" in result.stderr
    assert f"project:projects/{PROJECT}" in result.stderr
    assert "Connection" in result.stderr or "refused" in result.stderr


def test_conflicting_target_options(blueprint: Path) -> None:
    result = run_cli("plan", blueprint, "--emulator", "--endpoint", "http://127.0.0.1:9")
    assert result.exit_code == 1
    assert "either --emulator or --endpoint" in result.stderr
    bad = run_cli("plan", blueprint, "--endpoint", "127.0.0.1:9")
    assert bad.exit_code == 1
    assert "http(s) URL" in bad.stderr


def test_show_with_the_in_process_emulator_says_its_urls_die_with_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PROVISION_ENDPOINT", raising=False)
    shutil.copytree(Path(__file__).resolve().parents[2] / "blueprints", tmp_path / "blueprints")
    shown = run_cli("show", tmp_path / "blueprints" / "dev.yaml", "--emulator")
    assert shown.exit_code == 0, shown.output
    assert "/dicomWeb" in shown.stdout
    assert "note: the DICOMweb URLs are at this command's in-process emulator" in shown.stderr
    assert "in-process" not in shown.stdout
