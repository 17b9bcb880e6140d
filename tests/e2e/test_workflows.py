"""The workflows as library calls, without the CLI: a program drives apply, onboard and destroy
through its own `Ui` and gets the plans (each under its own heading), the questions, the
summaries (each with its own verb) and the notes; each command expands its blueprint once."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from provision.apply import ChangeResult
from provision.emulator.server import RunningEmulator
from provision.gcp.api import GoogleApi
from provision.gcp.credentials import Target
from provision.gcp.operations import Progress
from provision.gcp.settings import FAST_TIMING
from provision.model import Change, Plan
from provision.verify import Check
from provision.workflows.apply import apply
from provision.workflows.destroy import DestroyRequest, destroy
from provision.workflows.onboard import SiteRequest, onboard
from provision.workflows.sequence import Flags
from tests.e2e.conftest import CliFn, control

REPO = Path(__file__).resolve().parents[2]


class ScriptedUi:
    """A Ui that keeps what it is told and agrees to every question."""

    def __init__(self) -> None:
        self.said: list[str] = []
        self.notes: list[str] = []
        self.plans: list[tuple[str, Plan]] = []
        self.checks: list[Check] = []
        self.questions: list[str] = []
        self.results: list[ChangeResult] = []
        self.warnings: list[str] = []
        self.recorded: dict[str, Any] = {}

    def say(self, text: str) -> None:
        self.said.append(text)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def warn(self, warnings: Iterable[object]) -> None:
        self.warnings += [str(w) for w in warnings]

    def record(self, key: str, value: Any) -> None:
        self.recorded[key] = value

    def show_plan(self, plan: Plan, heading: str) -> None:
        self.plans.append((heading, plan))

    def show_checks(self, checks: Sequence[Check]) -> None:
        self.checks += checks

    def confirm(self, question: str, *, action: str, review: str) -> None:
        self.questions.append(question.strip())

    def started(self, change: Change) -> None:
        pass

    def progress(self, change: Change, progress: Progress) -> None:
        pass

    def finished(self, change: Change, result: ChangeResult) -> None:
        self.results.append(result)


@pytest.fixture
def connect(emulator: RunningEmulator) -> Callable[[], Any]:
    control(emulator, "reset")

    @contextmanager
    def connected() -> Iterator[GoogleApi]:
        yield GoogleApi(Target(endpoint=emulator.base_url), FAST_TIMING)

    return connected


@pytest.fixture
def dev(tmp_path: Path) -> Path:
    target = tmp_path / "blueprints"
    shutil.copytree(REPO / "blueprints", target)
    return target / "dev.yaml"


@pytest.fixture
def expansions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts `expand` calls, wherever a module imported it from."""
    from provision.blueprint import expand as module

    original = module.expand
    calls: list[str] = []

    def counted(loaded: Any) -> Any:
        calls.append(str(loaded.path))
        return original(loaded)

    for name, imported in list(sys.modules.items()):
        if name.startswith("provision") and getattr(imported, "expand", None) is original:
            monkeypatch.setattr(imported, "expand", counted)
    return calls


def test_apply_onboard_and_destroy_as_library_calls(
    dev: Path, connect: Callable[[], Any], tmp_path: Path
) -> None:
    ui = ScriptedUi()
    assert not apply(dev, Flags(), ui, connect).interrupted
    heading, planned = ui.plans[0]
    assert heading == f"Planned changes for {dev}"
    assert planned.has_changes
    assert ui.questions == ["Apply these changes?"]
    assert ui.said[-1].startswith("Apply complete: ")
    assert any(note.startswith("Lease: ") for note in ui.notes)
    assert ui.results and all(r.state.value == "done" for r in ui.results)

    site = ScriptedUi()
    request = SiteRequest("st-marys", dev, config_dir=tmp_path / "out", endpoint="http://x")
    assert not onboard(request, site, connect).interrupted
    assert site.plans[0][0] == f"Planned changes for site st-marys of {dev}"
    assert site.said[-2] == "Site st-marys is ready."
    assert site.said[-1] == (
        f"Open its studies in the OHIF Viewer: provision viewer {dev} --site st-marys "
        "--endpoint http://x"
    )
    assert {c.check for c in site.checks} >= {"DICOMweb answers"}
    assert (tmp_path / "out" / "orthanc.json").exists()

    removal = ScriptedUi()
    assert not destroy(DestroyRequest(dev, site="st-marys"), removal, connect).interrupted
    assert removal.plans[0][0] == f"Planned removals for {dev}"
    assert any(line.startswith("Destroy complete: ") for line in removal.said)
    assert removal.said[-1].startswith("The site file ")
    assert (
        "stays (its kept objects still belong to it) and still declares st-marys"
        in (removal.said[-1])
    )


def test_each_command_expands_its_blueprint_once(
    dev: Path, cli: CliFn, tmp_path: Path, expansions: list[str]
) -> None:
    out = tmp_path / "out"
    commands = [
        ("apply", dev, "--yes"),
        ("onboard", "st-marys", "--blueprint", dev, "--yes", "--config-dir", out),
        ("plan", dev, "--site", "st-marys"),
        ("apply", dev, "--yes"),
        ("plan", dev, "--out", tmp_path / "plan.json"),
        ("apply", tmp_path / "plan.json"),
        ("verify", dev),
        ("destroy", dev, "--site", "st-marys", "--yes"),
    ]
    for command in commands:
        expansions.clear()
        result = cli(*command)
        # verify fails its import checks: no DICOM files were uploaded
        assert result.exit_code == (1 if command[0] == "verify" else 0), result.output
        assert len(expansions) == 1, command


def test_onboard_names_the_viewer_port_the_oauth_client_allows(
    dev: Path, connect: Callable[[], Any], tmp_path: Path
) -> None:
    """For Google (no endpoint in the request), the printed `provision viewer` command must be
    one Google signs in from: the port of the blueprint's localhost origin."""
    text = dev.read_text(encoding="utf-8")
    dev.write_text(text.replace("- http://localhost:3000", "- http://localhost:8080"))
    site = ScriptedUi()
    request = SiteRequest("st-marys", dev, config_dir=tmp_path / "out")
    assert not onboard(request, site, connect).interrupted
    assert site.said[-1] == (
        f"Open its studies in the OHIF Viewer: provision viewer {dev} --site st-marys --port 8080"
    )
