"""`provision viewer` as a user runs it: serves a build with the blueprint's config on localhost
until Ctrl-C; `--emulator` keeps the bundled emulator (with the state earlier commands left)
running beside it. A stand-in build (`--ohif-dist`) keeps this offline; the published OHIF build
in a real browser is `tests/viewers/test_ohif_browser.py`."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from provision.emulator.server import RunningEmulator
from provision.outputs.ohif import PREFIX
from tests.e2e.cli import FAST_ENV, run_cli

REPO = Path(__file__).resolve().parents[2]
STORE = (
    "projects/imaging-dev-4821/locations/us-central1/datasets/imaging-dev/dicomStores/dicom-main"
)


@pytest.fixture
def dev(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "blueprints", tmp_path / "blueprints")
    return tmp_path / "blueprints" / "dev.yaml"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    folder = tmp_path / "dist"
    folder.mkdir()
    (folder / "index.html").write_text("<html>stand-in viewer</html>")
    return folder


@contextmanager
def serving(args: list[str], cwd: Path) -> Iterator[tuple[str, list[str]]]:
    """`provision viewer ARGS` until the block ends, then Ctrl-C; yields (URL, lines so far)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "provision.cli", "viewer", *args, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env={**os.environ, **FAST_ENV},
    )
    assert process.stdout is not None and process.stderr is not None
    lines = [process.stdout.readline()]
    try:
        found = re.search(r" at (http://localhost:\d+)/ ", lines[0])
        assert found, lines[0] + (process.stderr.read() if process.poll() is not None else "")
        while lines[-1] and not lines[-1].startswith("Data from"):
            lines.append(process.stdout.readline())
        yield found.group(1), lines
    finally:
        process.send_signal(signal.SIGINT)
        rest, errors = process.communicate(timeout=30)
    assert process.returncode == 0, errors
    assert rest.strip() == "stopped"


def get(url: str) -> tuple[str, bytes]:
    with urllib.request.urlopen(url.replace("localhost", "127.0.0.1"), timeout=10) as answer:
        return answer.headers["Content-Type"], answer.read()


def config_at(url: str) -> Any:
    kind, body = get(f"{url}/app-config.js")
    assert kind.startswith("text/javascript")
    return json.loads(body.decode().split(PREFIX, 1)[1].rstrip().removesuffix(";"))


def test_it_serves_the_build_with_a_config_for_the_endpoint(
    emulator: RunningEmulator, dev: Path, dist: Path, tmp_path: Path
) -> None:
    args = [str(dev), "--endpoint", emulator.base_url, "--ohif-dist", str(dist)]
    with serving(args, tmp_path) as (url, lines):
        config = config_at(url)
        assert get(f"{url}/viewer?StudyInstanceUIDs=1.2.3")[1] == b"<html>stand-in viewer</html>"
    roots = [s["configuration"].get("wadoRoot") for s in config["dataSources"]]
    assert f"{emulator.base_url}/v1/{STORE}/dicomWeb" in roots
    assert "oidc" not in config
    assert "(no sign-in)" in lines[-1]
    assert f"imaging-dev/dicom-main: {url}/?datasources=imaging-dev-dicom-main" in lines[1]


def test_with_emulator_the_state_of_earlier_commands_is_served(
    dev: Path, dist: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    applied = run_cli("apply", dev, "--yes", "--emulator")
    assert applied.exit_code == 0, applied.output
    with serving([str(dev), "--emulator", "--ohif-dist", str(dist)], tmp_path) as (url, _):
        root = config_at(url)["dataSources"][0]["configuration"]["qidoRoot"]
        assert root.endswith(f"/v1/{STORE}/dicomWeb")
        kind, body = get(f"{root}/studies")  # the emulator runs as long as the viewer
        assert kind.startswith("application/dicom+json")
        assert json.loads(body or b"[]") == []


def test_bad_options_fail_with_one_line_each(dev: Path, tmp_path: Path) -> None:
    refused = run_cli("viewer", dev, "--port", "3001")
    assert refused.exit_code == 1
    assert "oauth.origins" in refused.stderr and "http://localhost:3001" in refused.stderr
    no_build = run_cli(
        "viewer", dev, "--endpoint", "http://127.0.0.1:9", "--ohif-dist", tmp_path / "nothing"
    )
    assert no_build.exit_code == 1
    assert "no index.html" in no_build.stderr
    unknown_site = run_cli("viewer", dev, "--site", "nowhere", "--endpoint", "http://127.0.0.1:9")
    assert unknown_site.exit_code == 1
    assert "no dataset belongs to site 'nowhere'" in unknown_site.stderr
