"""Fixtures of the fault suite: the blueprint under test and the undisturbed run it must match."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from provision.emulator.server import RunningEmulator
from tests.faults import harness


@dataclass(frozen=True)
class Baseline:
    """What an undisturbed apply of the blueprint makes."""

    state: dict[str, Any]
    """The normalised final state."""
    writes: list[tuple[str, str]]
    """Every (api, method id) the apply wrote with, in first-use order."""
    requests: int
    """How many requests the apply (its plan included) made."""


_BASELINE: list[Baseline] = []


@pytest.fixture
def blueprint(tmp_path: Path) -> Path:
    return harness.copy_dev_blueprint(tmp_path)


@pytest.fixture
def baseline(emulator: RunningEmulator, tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    """The undisturbed run (made once per session); leaves the emulator reset."""
    if not _BASELINE:
        path = harness.copy_dev_blueprint(tmp_path_factory.mktemp("baseline"))
        harness.reset(emulator)
        result = harness.apply(path, emulator)
        assert result.exit_code == 0, result.output
        writes: list[tuple[str, str]] = []
        entries = harness.journal(emulator)
        for entry in entries:
            key = (str(entry["api"]), str(entry["method_id"]))
            if entry["mutating"] and key not in writes:
                writes.append(key)
        _BASELINE.append(Baseline(harness.normalised_state(emulator), writes, len(entries)))
    harness.reset(emulator)
    return _BASELINE[0]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if harness.FIGURES.runs:
        terminalreporter.write_line(f"fault suite: {harness.FIGURES.summary()}")
