"""Run the `provision` CLI in-process (as `provision.cli.main.run` would) and capture output."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from provision.cli import commands  # noqa: F401  (registers the commands)
from provision.cli.app import app
from provision.errors import ProvisionError

FAST_ENV = {
    "PROVISION_RETRY_BASE_DELAY": "0.005",
    "PROVISION_RETRY_MAX_DELAY": "0.02",
    "PROVISION_RETRY_DEADLINE": "20",
    "PROVISION_POLL_INITIAL": "0.005",
    "PROVISION_POLL_MAX": "0.02",
    "PROVISION_POLL_DEADLINE": "20",
    "PROVISION_PACING": "off",
    "PROVISION_YES": "",
}


@dataclass(frozen=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_cli(*args: str | Path, env: Mapping[str, str] | None = None, stdin: str = "") -> CliResult:
    """`provision ARGS...`; a ProvisionError becomes `error: ...` on stderr and its exit code."""
    runner = CliRunner()
    result = runner.invoke(
        app, [str(a) for a in args], env={**FAST_ENV, **(env or {})}, input=stdin
    )
    code = result.exit_code
    stderr = result.stderr
    error: Any = result.exception
    if isinstance(error, ProvisionError):
        code = error.exit_code
        stderr += f"error: {error}\n"
    elif error is not None and not isinstance(error, SystemExit):
        raise error
    return CliResult(code, result.stdout, stderr)
