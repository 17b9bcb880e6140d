"""A port out of range is a clear error, not a traceback or a silent retry."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.cli import run_cli


@pytest.mark.parametrize(
    "endpoint", ["http://127.0.0.1:99999", "http://127.0.0.1:abc", "http://:8765"]
)
def test_an_endpoint_with_a_bad_port_is_refused(tmp_path: Path, endpoint: str) -> None:
    blueprint = tmp_path / "blueprint.yaml"
    blueprint.write_text("version: 1\nproject:\n  id: demo-imaging\n")
    result = run_cli("plan", blueprint, "--endpoint", endpoint)
    assert result.exit_code == 1
    assert f"--endpoint {endpoint!r} is not usable" in result.stderr
    assert "a number from 1 to 65535" in result.stderr


def test_the_emulator_port_is_checked_before_binding() -> None:
    result = run_cli("emulator", "serve", "--port", "99999")
    assert result.exit_code == 2
    assert "--port" in result.output and "65535" in result.output
