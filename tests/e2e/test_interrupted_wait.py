"""Ctrl-C while apply waits for a long-running operation: reported as interrupted while
waiting (it may still complete on Google; the next apply picks it up), never as FAILED."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from provision.emulator.server import RunningEmulator
from tests.e2e.cli import FAST_ENV
from tests.e2e.conftest import CliFn, control, journal


def test_ctrl_c_while_an_operation_runs_is_not_a_failure(
    cli: CliFn, blueprint: Path, emulator: RunningEmulator
) -> None:
    control(emulator, "settings", {"lro_seconds": 120})
    env = {**os.environ, **FAST_ENV, "PROVISION_ENDPOINT": emulator.base_url}
    run = subprocess.Popen(
        [sys.executable, "-m", "provision.cli", "apply", str(blueprint), "--yes"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not any(e["method_id"] == "operations.get" for e in journal(emulator)):
            assert time.monotonic() < deadline, "apply never polled the operation"
            time.sleep(0.05)
        run.send_signal(signal.SIGINT)
        stdout, stderr = run.communicate(timeout=60)
    finally:
        control(emulator, "settings", {"lro_seconds": 0})
        if run.poll() is None:
            run.kill()
    output = stdout + stderr
    assert run.returncode == 130, output
    assert "FAILED" not in output
    assert "0 failed" in stdout and "1 interrupted" in stdout
    assert "interrupted while waiting for" in stderr
    assert "may still complete on Google" in stderr
    assert "the next apply picks it up" in stderr
    again = cli("apply", blueprint, "--yes")
    assert again.exit_code == 0, again.output
