"""The emulator the benchmark measures against: in this process (default) or in its own.

In-process, the emulator shares this interpreter (and its lock) with the tool, so its request
handling competes with the tool for CPU; a separate process (`provision emulator serve`) leaves
the tool's figures closer to what it does against Google. Both give the same view: a base URL,
reset, and the request journal.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from provision.emulator.core.settings import EmulatorSettings
from provision.emulator.server import RunningEmulator, start_background

JournalEntries = list[dict[str, Any]]


class Emulator(Protocol):
    base_url: str

    def reset(self, settings: Mapping[str, Any] | None = None) -> None:
        """Forget all state and the journal; back to the settings it started with, then
        `settings` (e.g. `{"profile": "google"}`)."""

    def configure(self, changes: Mapping[str, Any]) -> None:
        """Change some settings (e.g. `{"quotas": True}`)."""

    def journal(self) -> JournalEntries:
        """The API requests since the last reset or clear (control-plane calls excluded)."""

    def operations(self) -> JournalEntries:
        """Every long-running operation's timing (`GET /_emulator/operations`)."""

    def clear_journal(self) -> None: ...


class InProcess:
    def __init__(self, running: RunningEmulator, settings: Mapping[str, Any]) -> None:
        self.running = running
        self.base_url = running.base_url
        self.settings = dict(settings)

    def reset(self, settings: Mapping[str, Any] | None = None) -> None:
        world = self.running.world
        world.reset(EmulatorSettings().updated({**self.settings, **(settings or {})}))

    def configure(self, changes: Mapping[str, Any]) -> None:
        self.running.world.configure(changes)

    def journal(self) -> JournalEntries:
        return api_requests(self.running.world.journal.to_json())

    def operations(self) -> JournalEntries:
        from provision.emulator.core import lro

        return lro.timings(self.running.world)

    def clear_journal(self) -> None:
        self.running.world.journal.clear()


class OwnProcess:
    def __init__(self, base_url: str, settings: Mapping[str, Any]) -> None:
        self.base_url = base_url
        self.settings = dict(settings)

    def _call(self, method: str, action: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.base_url}/_emulator/{action}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request) as response:
            text = response.read()
        return json.loads(text) if text else None

    def reset(self, settings: Mapping[str, Any] | None = None) -> None:
        self._call("POST", "reset", {**self.settings, **(settings or {})})

    def configure(self, changes: Mapping[str, Any]) -> None:
        self._call("POST", "settings", dict(changes))

    def journal(self) -> JournalEntries:
        entries = self._call("GET", "journal")
        return api_requests(entries if isinstance(entries, list) else [])

    def operations(self) -> JournalEntries:
        entries = self._call("GET", "operations")
        return entries if isinstance(entries, list) else []

    def clear_journal(self) -> None:
        self._call("DELETE", "journal")


def api_requests(entries: JournalEntries) -> JournalEntries:
    return [e for e in entries if not str(e["path"]).startswith("/_emulator")]


@contextmanager
def started(
    latency_ms: float, *, own_process: bool = False, settings: Mapping[str, Any] | None = None
) -> Iterator[Emulator]:
    """A running emulator adding `latency_ms` to every request, with `settings` (kept across
    resets); stopped on exit."""
    kept = {"latency_ms": latency_ms, **(settings or {})}
    if not own_process:
        running = start_background(settings=EmulatorSettings().updated(kept))
        try:
            yield InProcess(running, kept)
        finally:
            running.stop()
        return
    executable = shutil.which("provision", path=str(Path(sys.executable).parent))
    if executable is None:
        raise RuntimeError("the `provision` command is not installed next to this Python")
    port = free_port()
    command = [executable, "emulator", "serve", "--port", str(port), "--quiet"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        emulator = OwnProcess(f"http://127.0.0.1:{port}", kept)
        wait_healthy(emulator.base_url, process)
        emulator.reset()
        yield emulator
    finally:
        process.terminate()
        process.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_healthy(base_url: str, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the emulator exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base_url}/_emulator/health", timeout=1):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.05)
    raise RuntimeError(f"the emulator at {base_url} did not answer within {timeout:.0f} s")
