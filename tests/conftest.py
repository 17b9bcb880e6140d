"""Shared fixtures: one emulator server per test session, reset before each test that uses it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from provision.emulator.server import RunningEmulator, start_background


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
