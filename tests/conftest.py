"""Shared fixtures: one emulator server per test session, reset before each test that uses it.

Every emulator the suite starts (in this process or as a subprocess) checks each JSON answer it
gives against Google's discovery schemas (`provision/emulator/core/answers.py`) and appends any
difference to one log; a test during which a difference was logged fails, naming the method and
the field.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from provision.emulator.core import answers
from provision.emulator.server import RunningEmulator, start_background

_ANSWER_LOG = Path(tempfile.mkdtemp(prefix="provision-answers-")) / "violations.jsonl"


def pytest_configure(config: pytest.Config) -> None:
    os.environ[answers.LOG_ENV] = str(_ANSWER_LOG)


@pytest.fixture(autouse=True)
def _answers_match_google() -> Iterator[None]:
    """Fail the test if an emulator answered differently from Google while it ran."""
    start = _ANSWER_LOG.stat().st_size if _ANSWER_LOG.exists() else 0
    yield
    if not _ANSWER_LOG.exists():
        return
    with _ANSWER_LOG.open(encoding="utf-8") as log:
        log.seek(start)
        found = [json.loads(line) for line in log if line.strip()]
    if found:
        lines = [
            f"{v['method']} ({v['path']}, {v['status']}): {v['field'] or '(answer)'}: "
            f"{v['message']} [test {v['test'] or '?'}]"
            for v in found[:20]
        ]
        pytest.fail("emulator answers differ from Google's schemas:\n" + "\n".join(lines))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    violations = 0
    if _ANSWER_LOG.exists():
        violations = sum(1 for line in _ANSWER_LOG.open(encoding="utf-8") if line.strip())
    terminalreporter.write_line(
        f"answer check: {answers.AnswerLog.checked} answers of this process's emulators (and "
        f"every answer of subprocess emulators) checked against Google's discovery schemas, "
        f"{violations} violations"
    )


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[RunningEmulator]:
    running = start_background()
    yield running
    running.stop()


@pytest.fixture
def emulator(emulator_server: RunningEmulator) -> RunningEmulator:
    """A running emulator with empty state and default settings."""
    emulator_server.world.reset()
    return emulator_server


def journal(emulator: RunningEmulator) -> list[dict[str, Any]]:
    """The requests the emulator has seen since the last reset."""
    return emulator.world.journal.to_json()
