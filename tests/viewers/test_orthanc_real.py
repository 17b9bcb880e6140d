"""The generated Orthanc config, accepted by the real Debian Orthanc + DICOMweb plugin.

Onboards a site on the emulator (over HTTP on 127.0.0.1), imports sample DICOM files, starts
`/usr/sbin/Orthanc` on loopback with the `orthanc.json` that `provision onboard` wrote (as the
`DicomWeb` section file, beside a minimal main config), and lists the site's studies through
Orthanc's DICOMweb client: `POST /dicom-web/servers/<name>/get`. Skipped when Orthanc is not
installed; `make viewer-check` installs it (Debian packages `orthanc`, `orthanc-dicomweb`) and
runs this.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from provision.emulator import samples
from provision.emulator.server import RunningEmulator
from tests.viewers import orthanc
from tests.viewers.orthanc import http, running_orthanc
from tests.viewers.site import onboard_with_samples

SERVER = "st-marys-imaging-st-marys-dicom"

pytestmark = [
    pytest.mark.viewer,
    pytest.mark.skipif(not orthanc.INSTALLED, reason=orthanc.NOT_INSTALLED),
]


def test_orthanc_lists_the_onboarded_sites_studies(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    uploaded = samples.generate(4, seed=11, studies=2)
    site = onboard_with_samples(emulator, tmp_path, uploaded)

    folder = tmp_path / "orthanc"
    folder.mkdir()
    shutil.copy(site.config_dir / "orthanc.json", folder / "dicomweb.json")
    with running_orthanc(folder) as base:
        assert SERVER in http(f"{base}/dicom-web/servers/")
        studies = http(f"{base}/dicom-web/servers/{SERVER}/get", {"Uri": "/studies"})
    found = {study["0020000D"]["Value"][0] for study in studies}
    assert found == {sample.study_uid for sample in uploaded}
