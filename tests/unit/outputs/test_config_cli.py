"""`provision config ...` end to end, as a user runs it."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.outputs.blueprints import CLIENT_ID

BLUEPRINT = f"""\
version: 1
project:
  id: demo-imaging
datasets:
  - id: research
    location: europe-west2
    dicomStores:
      - id: ct
  - id: north-imaging
    location: us-east4
    labels:
      site: north
    dicomStores:
      - id: primary
oauth:
  clientId: {CLIENT_ID}
  origins:
    - http://localhost:3000
"""


def provision(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provision.cli", *args], check=False, capture_output=True, text=True
    )


@pytest.fixture
def blueprint_file(tmp_path: Path) -> Path:
    path = tmp_path / "blueprint.yaml"
    path.write_text(BLUEPRINT)
    return path


def config_object(js: str) -> dict[str, object]:
    body = js.split("window.config = ", 1)[1].rstrip().removesuffix(";")
    parsed: dict[str, object] = json.loads(body)
    return parsed


def test_ohif_to_stdout(blueprint_file: Path) -> None:
    result = provision("config", "ohif", str(blueprint_file))
    assert result.returncode == 0, result.stderr
    config = config_object(result.stdout)
    assert config["defaultDataSourceName"] == "research-ct"
    assert CLIENT_ID in result.stdout


def test_ohif_site_and_emulator_to_file(blueprint_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "app-config.js"
    result = provision(
        "config", "ohif", str(blueprint_file), "--site", "north",
        "--emulator-url", "http://127.0.0.1:8765", "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert f"wrote {out}" in result.stderr
    config = config_object(out.read_text())
    assert "oidc" not in config
    assert config["defaultDataSourceName"] == "north-imaging-primary"


def test_orthanc_google_with_key_path(blueprint_file: Path) -> None:
    result = provision(
        "config", "orthanc", str(blueprint_file), "--credentials-file", "/etc/orthanc/sa.json"
    )
    assert result.returncode == 0, result.stderr
    accounts = json.loads(result.stdout)["GoogleCloudPlatform"]["Accounts"]
    assert list(accounts) == ["research-ct", "north-imaging-primary"]
    assert {a["ServiceAccountFile"] for a in accounts.values()} == {"/etc/orthanc/sa.json"}
    assert "note: " in result.stderr
    assert "gcp.json" in result.stderr


def test_orthanc_emulator(blueprint_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "dicomweb.json"
    result = provision(
        "config", "orthanc", str(blueprint_file), "--emulator-url", "http://127.0.0.1:9",
        "--out", str(out), "--site", "north",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    servers = json.loads(out.read_text())["DicomWeb"]["Servers"]
    assert list(servers) == ["north-imaging-primary"]
    assert "replacing the packaged one" in result.stderr


def test_oauth_checklist(blueprint_file: Path) -> None:
    result = provision("config", "oauth", str(blueprint_file))
    assert result.returncode == 0, result.stderr
    assert "Authorized redirect URIs: http://localhost:3000/callback" in result.stdout
    assert result.stdout.startswith("1. Enable the Cloud Resource Manager API\n")


def test_missing_client_id_is_a_plain_error(tmp_path: Path) -> None:
    path = tmp_path / "b.yaml"
    path.write_text(BLUEPRINT.replace(f"  clientId: {CLIENT_ID}\n", ""))
    result = provision("config", "ohif", str(path))
    assert result.returncode == 1
    assert result.stderr.startswith("error: `oauth.clientId` is not set")
    assert "Traceback" not in result.stderr


def test_unknown_site_is_a_plain_error(blueprint_file: Path) -> None:
    result = provision("config", "orthanc", str(blueprint_file), "--site", "south")
    assert result.returncode == 1
    assert "no dataset belongs to site 'south'" in result.stderr
    assert "Sites found: north" in result.stderr
    assert "Traceback" not in result.stderr


def test_unwritable_out_is_a_plain_error(blueprint_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "missing-dir" / "x.js"
    result = provision("config", "ohif", str(blueprint_file), "--out", str(out))
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: cannot write {out}")


def test_out_never_replaces_a_fifo(blueprint_file: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "app-config.js"
    os.mkfifo(fifo)
    command = ["config", "ohif", str(blueprint_file), "--out", str(fifo)]
    result = subprocess.run(
        [sys.executable, "-m", "provision.cli", *command],
        check=False,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 1
    assert "it is a FIFO; it was not replaced" in result.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
