"""The generated Orthanc config, accepted by the real Debian Orthanc + DICOMweb plugin.

Onboards a site on the emulator (over HTTP on 127.0.0.1), imports sample DICOM files, starts
`/usr/sbin/Orthanc` on loopback with the `orthanc.json` that `provision onboard` wrote (as the
`DicomWeb` section file, beside a minimal main config), and lists the site's studies through
Orthanc's DICOMweb client: `POST /dicom-web/servers/<name>/get`. Skipped when Orthanc is not
installed; `make viewer-check` installs it (Debian packages `orthanc`, `orthanc-dicomweb`) and
runs this.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from provision.emulator import samples
from provision.emulator.server import RunningEmulator
from tests.e2e.cli import run_cli

ORTHANC = Path("/usr/sbin/Orthanc")
DICOMWEB_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
REPO = Path(__file__).resolve().parents[2]
PROJECT = "imaging-dev-4821"
BUCKET = f"{PROJECT}-st-marys-import"
SERVER = "st-marys-imaging-st-marys-dicom"
START_SECONDS = 20.0

pytestmark = [
    pytest.mark.viewer,
    pytest.mark.skipif(
        not (ORTHANC.exists() and DICOMWEB_PLUGIN.exists()),
        reason="needs Debian's orthanc and orthanc-dicomweb (make viewer-check installs them)",
    ),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http(url: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="GET" if data is None else "POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@contextmanager
def running_orthanc(folder: Path) -> Iterator[str]:
    """Orthanc on a free loopback port with every JSON file of `folder` plus a minimal main
    config (storage in `folder/db`, no DICOM port, the DICOMweb plugin only); its base URL."""
    port = free_port()
    main = {
        "Name": "provision-viewer-check",
        "StorageDirectory": str(folder / "db"),
        "IndexDirectory": str(folder / "db"),
        "HttpPort": port,
        "DicomServerEnabled": False,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "Plugins": [str(DICOMWEB_PLUGIN)],
    }
    (folder / "orthanc.json").write_text(json.dumps(main), encoding="utf-8")
    log_path = folder.parent / "orthanc.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([str(ORTHANC), str(folder)], stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            if process.poll() is not None:
                tail = log_path.read_text(errors="replace")[-3000:]
                raise AssertionError(f"Orthanc refused the configuration:\n{tail}")
            try:
                http(f"{base}/system")
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise AssertionError("Orthanc did not start in time") from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_orthanc_lists_the_onboarded_sites_studies(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    blueprints = tmp_path / "blueprints"
    shutil.copytree(REPO / "blueprints", blueprints)
    dev = blueprints / "dev.yaml"
    config_dir = tmp_path / "out" / "st-marys"
    env = {"PROVISION_ENDPOINT": emulator.base_url}
    args = ("onboard", "st-marys", "--blueprint", dev, "--yes", "--config-dir", config_dir)
    first = run_cli(*args, env=env)
    assert first.exit_code == 0, first.output
    client = storage.Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": emulator.base_url},
    )
    uploaded = samples.generate(4, seed=11, studies=2)
    for index, sample in enumerate(uploaded):
        blob = client.bucket(BUCKET).blob(f"dicom/{index}.dcm")
        blob.upload_from_string(sample.data, content_type="application/dicom")
    second = run_cli(*args, env=env)  # imports the files
    assert second.exit_code == 0, second.output
    assert "PASS  import done" in second.stdout

    folder = tmp_path / "orthanc"
    folder.mkdir()
    shutil.copy(config_dir / "orthanc.json", folder / "dicomweb.json")
    with running_orthanc(folder) as base:
        assert SERVER in http(f"{base}/dicom-web/servers/")
        studies = http(f"{base}/dicom-web/servers/{SERVER}/get", {"Uri": "/studies"})
    found = {study["0020000D"]["Value"][0] for study in studies}
    assert found == {sample.study_uid for sample in uploaded}
