"""The emulator as its own process: `provision emulator serve` starts, serves real clients,
and keeps state in a SQLite file across restarts."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httplib2
from googleapiclient import discovery


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _serve(*args: str) -> Iterator[tuple[str, float]]:
    """Run `provision emulator serve` on a free port; yields (base URL, seconds to first 200)."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "provision.cli", "emulator", "serve", "--port", str(port), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_emulator/health", timeout=1) as answer:
                    answer.read()
                break
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None or time.perf_counter() - started > 20:
                    stderr = process.stderr.read() if process.stderr else b""
                    raise AssertionError(f"emulator did not start: {stderr!r}") from None
                time.sleep(0.01)
        yield base, time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()


def _crm(base: str) -> Any:
    return discovery.build(
        "cloudresourcemanager",
        "v3",
        static_discovery=True,
        client_options={"api_endpoint": base + "/"},
        http=httplib2.Http(timeout=10),
    ).projects()


def test_separate_process_starts_and_serves(tmp_path: Path) -> None:
    """Start-up time is measured by the benchmark (`make bench`), not asserted here."""
    with _serve("--quiet") as (base, _):
        crm = _crm(base)
        operation = crm.create(body={"projectId": "process-project"}).execute()
        assert operation["name"].startswith("operations/cp.")
        assert crm.get(name="projects/process-project").execute()["state"] == "ACTIVE"


def test_state_file_survives_restarts(tmp_path: Path) -> None:
    state = tmp_path / "emulator.sqlite"
    with _serve("--quiet", "--state", str(state)) as (base, _):
        crm = _crm(base)
        crm.create(body={"projectId": "kept-project"}).execute()
        first = crm.get(name="projects/kept-project").execute()
    with _serve("--quiet", "--state", str(state), "--set", "lro_polls=0") as (base, _):
        crm = _crm(base)
        assert crm.get(name="projects/kept-project").execute() == first
        crm.create(body={"projectId": "second-project"}).execute()
        second = crm.get(name="projects/second-project").execute()
        assert second["name"] != first["name"]
        policy = crm.getIamPolicy(resource="projects/kept-project", body={}).execute()
        assert policy["bindings"][0]["role"] == "roles/owner"


def test_the_google_profile_from_the_command_line() -> None:
    """`--profile google` starts from the profile; options given with it override it."""
    with (
        _serve("--quiet", "--profile", "google", "--latency-ms", "5") as (base, _),
        urllib.request.urlopen(f"{base}/_emulator/settings", timeout=5) as answer,
    ):
        settings = json.loads(answer.read())
    assert settings["profile"] == "google"
    assert settings["latency_ms"] == 5.0  # given: overrides the profile's 90 ms
    assert settings["quotas"] is True and settings["lro_polls"] == 0
    assert settings["lro_seconds_by_method"]["cloudresourcemanager.projects.create"] == 5.0
