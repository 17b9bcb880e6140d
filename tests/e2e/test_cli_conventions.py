"""One set of conventions across every command: the same target options, `--site` where a command
plans or checks, `--format json` documents, global options before or after the command,
`--version`, `-h`, colour rules, no `<bool>` in help, a useful command order, and conflicting
options refused naming both."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from provision.cli.app import COMMAND_ORDER, NO_COLOR, app
from provision.cli.terminal import colour
from provision.emulator.server import RunningEmulator
from tests.e2e.cli import run_cli
from tests.e2e.conftest import CliFn, clear_journal, journal

REPO = Path(__file__).resolve().parents[2]
GOOGLE_COMMANDS = [
    ["validate"],
    ["plan"],
    ["apply"],
    ["verify"],
    ["destroy"],
    ["onboard"],
    ["force-unlock"],
    ["viewer"],
    ["config", "ohif"],
    ["config", "orthanc"],
]
TARGET_OPTIONS = [
    "--endpoint",
    "--emulator",
    "--emulator-state",
    "--credentials",
    "--impersonate-service-account",
]


@pytest.fixture
def dev(tmp_path: Path) -> Path:
    target = tmp_path / "blueprints"
    shutil.copytree(REPO / "blueprints", target)
    return target / "dev.yaml"


def help_text(*command: str) -> str:
    result = run_cli(*command, "--help", env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout


def every_command() -> list[list[str]]:
    found: list[list[str]] = []
    for info in app.registered_commands:
        found.append([info.name or (info.callback.__name__ if info.callback else "")])
    for group in app.registered_groups:
        assert group.typer_instance is not None
        for info in group.typer_instance.registered_commands:
            name = info.name or (info.callback.__name__ if info.callback else "")
            found.append([str(group.name), name])
    return found


def test_version_and_short_help() -> None:
    version = run_cli("--version")
    assert version.exit_code == 0
    assert re.fullmatch(r"provision \S+\n", version.stdout)
    assert "Usage: provision" in run_cli("-h").stdout
    assert "Usage: provision plan" in run_cli("plan", "-h").stdout


@pytest.mark.parametrize("command", every_command(), ids=" ".join)
def test_help_shows_flags_without_a_bool_type_and_has_the_global_options(
    command: list[str],
) -> None:
    text = help_text(*command)
    assert "<bool>" not in text
    assert "--debug" in text and "--no-color" in text


def test_commands_are_listed_in_a_useful_order() -> None:
    text = help_text()
    listed = [name for name in COMMAND_ORDER if re.search(rf"│ {re.escape(name)}\s", text)]
    positions = [text.index(f"│ {name} ") for name in listed]
    assert positions == sorted(positions)
    assert listed[:4] == ["validate", "plan", "apply", "verify"]


@pytest.mark.parametrize("command", GOOGLE_COMMANDS, ids=" ".join)
def test_every_command_that_talks_to_google_takes_the_same_target_options(
    command: list[str],
) -> None:
    text = help_text(*command)
    for option in TARGET_OPTIONS:
        assert option in text, (command, option)


@pytest.mark.parametrize("command", ["plan", "apply", "verify", "destroy", "config ohif"])
def test_site_on_every_command_that_plans_or_checks(command: str) -> None:
    assert "--site" in help_text(*command.split())


@pytest.mark.parametrize("command", ["apply", "destroy", "onboard"])
def test_lease_wait_on_every_command_that_takes_the_lease(command: str) -> None:
    assert "--lease-wait" in help_text(command)


@pytest.mark.parametrize("command", ["validate", "plan", "apply", "verify", "destroy"])
def test_format_json_on_the_commands_that_report(command: str) -> None:
    assert re.search(r"--format\s+<text\|json", help_text(command))


def test_json_and_format_markdown_conflict(cli: CliFn, blueprint: Path) -> None:
    result = cli("plan", blueprint, "--json", "--format", "markdown")
    assert result.exit_code == 1
    assert "--json and --format markdown cannot be used together" in result.stderr


def test_saved_plan_refuses_reimport_and_site(cli: CliFn, blueprint: Path, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    assert cli("plan", blueprint, "--out", saved).exit_code == 0
    for option in (["--reimport"], ["--site", "general"]):
        result = cli("apply", saved, *option)
        assert result.exit_code == 1, result.output
        assert f"PLANFILE and {option[0]} cannot be used together" in result.stderr


def test_debug_is_accepted_before_or_after_the_command(cli: CliFn, blueprint: Path) -> None:
    for args in (("plan", blueprint, "--debug"), ("--debug", "plan", blueprint)):
        result = cli(*args)
        assert result.exit_code == 0, result.output
        lines = re.findall(r"GET http\S+ -> \d{3}", result.stderr)
        assert lines, result.stderr
        assert result.stderr.count(lines[0]) == 1


def test_no_color_and_NO_COLOR(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert colour(Tty())
    assert not colour(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not colour(Tty())
    monkeypatch.delenv("NO_COLOR")
    token = NO_COLOR.set(True)  # what --no-color sets for the command
    try:
        assert not colour(Tty())
    finally:
        NO_COLOR.reset(token)


def json_of(stdout: str) -> Any:
    document = json.loads(stdout)
    assert document["format_version"] == 1
    return document


def test_format_json_documents(cli: CliFn, dev: Path) -> None:
    valid = json_of(cli("validate", dev, "--format", "json").stdout)
    assert valid["command"] == "validate" and valid["valid"] is True and valid["ok"] is True
    assert any(d["severity"] == "warning" for d in valid["diagnostics"])
    assert valid["warnings"] and all(
        w.startswith(("warning:", str(dev))) for w in valid["warnings"]
    )

    applied = cli("apply", dev, "--yes", "--format", "json")
    assert applied.exit_code == 0, applied.output
    document = json_of(applied.stdout)
    assert document["ok"] is True and document["error"] is None
    assert document["plan"]["changes"]
    assert {r["state"] for r in document["results"]} == {"done"}
    assert any(m.startswith("Apply complete") for m in document["messages"])
    assert "Planned changes for" in applied.stderr  # the plan to review, on stderr

    checks = cli("verify", dev, "--format", "json")
    verified = json_of(checks.stdout)
    assert {"check", "target", "ok", "detail"} <= set(verified["checks"][0])
    assert verified["ok"] is (checks.exit_code == 0)

    removed = json_of(cli("destroy", dev, "--site", "general", "--yes", "--format", "json").stdout)
    assert removed["command"] == "destroy" and removed["ok"] is True


def test_format_json_reports_the_error(cli: CliFn, tmp_path: Path) -> None:
    result = cli("verify", tmp_path / "missing.yaml", "--format", "json")
    assert result.exit_code == 1
    document = json_of(result.stdout)
    assert document["ok"] is False and "missing.yaml" in document["error"]


def test_apply_and_verify_take_site(cli: CliFn, dev: Path, emulator: RunningEmulator) -> None:
    applied = cli("apply", dev, "--site", "general", "--yes")
    assert applied.exit_code == 0, applied.output
    assert "Planned changes for site general of" in applied.stdout
    assert "general-imaging" in applied.stdout
    assert "imaging-dev/dicomStores/dicom-main" not in applied.stdout  # not the site's
    clear_journal(emulator)
    verified = cli("verify", dev, "--site", "general")
    assert "general-imaging/dicomStores/general-dicom" in verified.stdout
    assert "dicom-main" not in verified.stdout
    assert not [e for e in journal(emulator) if "dicom-main" in e["path"]]


def test_config_takes_endpoint_and_keeps_emulator_url_as_an_alias(dev: Path) -> None:
    url = "http://127.0.0.1:9999"
    pointed = run_cli("config", "ohif", dev, "--endpoint", url, env={"PROVISION_ENDPOINT": ""})
    assert pointed.exit_code == 0, pointed.output
    assert url in pointed.stdout
    old = run_cli("config", "ohif", dev, "--emulator-url", url, env={"PROVISION_ENDPOINT": ""})
    assert old.stdout == pointed.stdout
    assert old.stderr == "warning: --emulator-url is deprecated; use --endpoint [W103]\n"
    told = run_cli("validate", dev, "--emulator-url", url, "--format", "json")
    assert told.stderr.count("[W103]") == 1
    assert "--emulator-url is deprecated; use --endpoint [W103]" in str(
        json.loads(told.stdout)["warnings"]
    )
    emulator = run_cli("config", "orthanc", dev, "--emulator", env={"PROVISION_ENDPOINT": ""})
    assert "http://127.0.0.1:8765" in emulator.stdout
    both = run_cli("config", "ohif", dev, "--emulator-url", url, "--endpoint", "http://x:1")
    assert both.exit_code == 1
    assert "--emulator-url and --endpoint cannot be used together" in both.stderr
    keyed = run_cli("config", "ohif", dev, "--credentials", "key.json")
    assert keyed.exit_code == 1 and "--credentials is not used here" in keyed.stderr
