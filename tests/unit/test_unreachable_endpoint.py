"""A wrong endpoint fails within a few attempts, naming it, with the default retry policy."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

BLUEPRINT = "version: 1\nproject:\n  id: demo-imaging\n"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.parametrize("kind", ["refused", "unknown host"])
def test_a_wrong_endpoint_fails_fast_naming_it(tmp_path: Path, kind: str) -> None:
    blueprint = tmp_path / "blueprint.yaml"
    blueprint.write_text(BLUEPRINT)
    endpoint = (
        f"http://127.0.0.1:{closed_port()}"
        if kind == "refused"
        else "http://no-such-host.invalid:8765"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVISION_")}
    result = subprocess.run(
        [sys.executable, "-m", "provision.cli", "plan", str(blueprint), "--endpoint", endpoint],
        capture_output=True,
        text=True,
        timeout=45,
        env=env,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert f"no answer at {endpoint}" in result.stderr
    assert "gave up after 3 attempts" in result.stderr
    assert "is the endpoint right" in result.stderr
