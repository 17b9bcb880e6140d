"""The real Debian Orthanc (with its DICOMweb plugin) on loopback, for the viewer checks."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ORTHANC = Path("/usr/sbin/Orthanc")
DICOMWEB_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
START_SECONDS = 20.0
INSTALLED = ORTHANC.exists() and DICOMWEB_PLUGIN.exists()
NOT_INSTALLED = "needs Debian's orthanc and orthanc-dicomweb (make viewer-check installs them)"


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
