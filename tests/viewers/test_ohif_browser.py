"""The published OHIF Viewer, in Debian's Chromium, shows the studies a user onboarded.

`test_ohif_shows_the_emulators_studies` onboards a site on the emulator with sample studies
imported, runs the `provision viewer` command that onboard printed (the pinned `@ohif/app`
release, fetched into the cache directory on first use) and opens it in Chromium: the study list
must show the studies, each study's viewport must show the sample slice that was imported (its
pixels correlate with the slice as windowed by its own window centre / width, so a blank or
garbled image fails), every series thumbnail must have pixels, the first study must show in
OHIF's MPR layout (volume viewports), frames must come from DICOMweb, and no DICOMweb request may
answer an error.

`test_ohif_shows_the_same_files_from_orthanc` is the control: the same files in the real Orthanc
with its DICOMweb plugin, the same viewer and config (only the DICOMweb roots changed, served on
the viewer's origin), the same checks. What renders from Orthanc but not from the emulator is an
emulator fidelity bug. Screenshots of both runs go to `.provision/artifacts/viewer/`.
"""

from __future__ import annotations

import re
import shlex
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from provision.blueprint.loader import load
from provision.emulator import samples
from provision.emulator.samples import Sample
from provision.emulator.server import RunningEmulator
from provision.outputs.ohif import ohif_config_object, render
from provision.viewer import build, server
from tests.viewers import ohif, orthanc
from tests.viewers.ohif import Seen, check_viewer, chromium, correlation, windowed_blocks
from tests.viewers.site import REPO, SITE, STORE, onboard_with_samples

pytestmark = [
    pytest.mark.viewer,
    pytest.mark.skipif(not ohif.CHROMIUM.exists(), reason=ohif.NOT_INSTALLED),
    pytest.mark.timeout(900),
]

UPLOADED = samples.generate(12, seed=19, studies=2)
"""Two studies, each a CT and an MR series of three 256 x 256 slices."""
STUDIES = sorted({s.study_uid for s in UPLOADED})
SERIES = {study: len({s.series_uid for s in UPLOADED if s.study_uid == study}) for study in STUDIES}
"""Study Instance UID -> how many series (thumbnails) the viewer shows for it."""
MIN_VARIANCE = 100.0
"""Pixel variance (0-255 grey) a viewport or thumbnail with an image has; a blank one has 0."""
MIN_CORRELATION = 0.9
MIN_MPR_VARIANCE = 20.0
"""The sagittal and coronal views of three slices are thin bands: less variance, but not 0."""
START_SECONDS = 600.0


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as running:
        yield running


@pytest.fixture(scope="module")
def ohif_build() -> Path:
    """The pinned release, fetched and checked once (later runs find it in the cache)."""
    return build.ensure_build()


def test_ohif_shows_the_emulators_studies(
    emulator: RunningEmulator, tmp_path: Path, browser: Browser, ohif_build: Path
) -> None:
    site = onboard_with_samples(emulator, tmp_path, UPLOADED)
    printed = re.search(r"OHIF Viewer: (provision viewer .*)$", site.last.stdout, re.MULTILINE)
    assert printed, site.last.stdout
    command = shlex.split(printed.group(1))
    assert command[2:] == [str(site.blueprint), "--site", SITE, "--endpoint", emulator.base_url]

    with provision_viewer([*command[2:], "--port", "0"], tmp_path) as url:
        root = f"{emulator.base_url}/v1/{STORE}/dicomWeb"
        seen = check_viewer(browser, url, root, SERIES, "emulator")
    assert_shows_the_studies(seen, UPLOADED)


@pytest.mark.skipif(not orthanc.INSTALLED, reason=orthanc.NOT_INSTALLED)
def test_ohif_shows_the_same_files_from_orthanc(
    tmp_path: Path, browser: Browser, ohif_build: Path
) -> None:
    folder = tmp_path / "orthanc"
    folder.mkdir()
    with orthanc.running_orthanc(folder) as base:
        for sample in UPLOADED:
            post(f"{base}/instances", sample.data)
        config = ohif_config_object(
            load(REPO / "blueprints" / "dev.yaml").blueprint,
            base_url="http://127.0.0.1:8765",
            emulator=True,
        )
        source = config["dataSources"][0]["configuration"]
        for key in ("qidoRoot", "wadoRoot", "wadoUriRoot"):
            source[key] = "/dicom-web"
        app = DispatcherMiddleware(
            server.ViewerApp(ohif_build, render(config)), {"/dicom-web": proxy_to(base)}
        )
        running = server.start(app, 0)
        try:
            seen = check_viewer(browser, running.url, f"{running.url}/dicom-web", SERIES, "orthanc")
        finally:
            running.stop()
    assert_shows_the_studies(seen, UPLOADED)


def assert_shows_the_studies(seen: Seen, uploaded: Sequence[Sample]) -> None:
    for number in sorted({int(s.path.split("/")[0].removeprefix("study-")) for s in uploaded}):
        assert f"Synthetic, Patient{number}" in seen.study_list, seen.study_list
    for study in STUDIES:
        pixels = seen.pixels[study]
        assert pixels.variance > MIN_VARIANCE, f"study {study}: the viewport is blank"
        assert len(pixels.thumbnails) == 2, f"study {study}: thumbnails {pixels.thumbnails}"
        assert min(pixels.thumbnails) > MIN_VARIANCE, f"study {study}: a blank thumbnail"
        slices = [windowed_blocks(s.data) for s in uploaded if s.study_uid == study]
        best = max(correlation(pixels.blocks, expected) for expected in slices)
        assert best > MIN_CORRELATION, f"study {study}: the viewport is not a sample slice"
    # The first study's CT series as a volume (axial, sagittal, coronal): the generated config's
    # `strictZSpacingForVolumeViewport: true`, copied from OHIF's google.js, must not keep an
    # evenly spaced series from being reconstructed.
    assert len(seen.mpr) == 3, f"MPR shows {len(seen.mpr)} viewports"
    assert min(seen.mpr) > MIN_MPR_VARIANCE, f"a blank MPR viewport: {seen.mpr}"
    assert seen.frames(), "no frame was retrieved over DICOMweb"
    assert not seen.errors(), seen.errors()


@contextmanager
def provision_viewer(args: list[str], folder: Path) -> Iterator[str]:
    """`provision viewer ARGS` in a subprocess; yields its URL once it serves, stops it with
    Ctrl-C (SIGINT) afterwards and checks it stopped cleanly."""
    log = folder / "viewer.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "provision.cli", "viewer", *args],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            cwd=folder,
        )
    assert process.stdout is not None
    try:
        first = process.stdout.readline()
        found = re.search(r" at (http://localhost:\d+)/", first)
        assert found, f"provision viewer printed {first!r}:\n{log.read_text()}"
        yield found.group(1)
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=30)
    assert process.returncode == 0, log.read_text()
    assert "stopped" in rest


def post(url: str, body: bytes) -> None:
    request = urllib.request.Request(url, data=body, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def proxy_to(base: str) -> Any:
    """A WSGI app that forwards GETs under its mount point to `base` (same path and query, the
    Accept header) and answers what it answered: status, Content-Type and body."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        query = environ.get("QUERY_STRING", "")
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        url = f"{base}{path}" + (f"?{query}" if query else "")
        request = urllib.request.Request(url, headers={"Accept": environ.get("HTTP_ACCEPT", "*/*")})
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                status, body, kind = answer.status, answer.read(), answer.headers["Content-Type"]
        except urllib.error.HTTPError as error:
            status, body, kind = error.code, error.read(), error.headers["Content-Type"]
        headers = [("Content-Length", str(len(body)))]
        if kind:
            headers.append(("Content-Type", kind))
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [body]

    return app
