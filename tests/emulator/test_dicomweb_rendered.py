"""DICOMweb Retrieve Rendered on the emulator (`.../instances/UID/rendered`,
`.../frames/N/rendered`), driven by `dicomweb-client` and plain HTTP.

The expected pixels are computed here from the stored slice by the standard's grayscale pipeline
(PS3.3 C.11.2.1.2: rescale, then the instance's window), independently of the emulator's code."""

from __future__ import annotations

import urllib.error
import urllib.request
from io import BytesIO

import pydicom
import pytest
from dicomweb_client.api import DICOMwebClient
from PIL import Image

from provision.emulator import samples
from provision.emulator.samples import Sample
from provision.emulator.server import RunningEmulator
from tests.emulator.test_dicomweb import _seed_store

CT, MR = samples.generate(2, seed=7, studies=1, size=64)


def windowed(sample: Sample, center: float | None = None, width: float | None = None) -> bytes:
    """The slice as 8-bit grey through its own window (or the one given)."""
    dataset = pydicom.dcmread(BytesIO(sample.data))
    slope = float(dataset.get("RescaleSlope", 1))
    intercept = float(dataset.get("RescaleIntercept", 0))
    c = float(dataset.WindowCenter) if center is None else center
    w = float(dataset.WindowWidth) if width is None else width
    raw = memoryview(dataset.PixelData).cast("H")
    grey = []
    for stored in raw:
        x = stored * slope + intercept
        if x <= c - 0.5 - (w - 1) / 2:
            grey.append(0)
        elif x > c - 0.5 + (w - 1) / 2:
            grey.append(255)
        else:
            grey.append(round(((x - (c - 0.5)) / (w - 1) + 0.5) * 255))
    return bytes(grey)


@pytest.fixture
def stored(emulator: RunningEmulator) -> tuple[DICOMwebClient, str]:
    url = _seed_store(emulator)
    client = DICOMwebClient(url=url)
    client.store_instances([pydicom.dcmread(BytesIO(s.data)) for s in (CT, MR)])
    return client, url


def get(url: str, accept: str | None = None) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, answer.headers["Content-Type"], answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def path(sample: Sample) -> str:
    return f"/studies/{sample.study_uid}/series/{sample.series_uid}/instances/{sample.sop_uid}"


def test_an_instance_renders_through_its_own_window(stored: tuple[DICOMwebClient, str]) -> None:
    client, _ = stored
    for sample in (CT, MR):
        png = client.retrieve_instance_rendered(
            sample.study_uid, sample.series_uid, sample.sop_uid, media_types=("image/png",)
        )
        image = Image.open(BytesIO(png))
        assert (image.format, image.mode, image.size) == ("PNG", "L", (64, 64))
        assert image.tobytes() == windowed(sample)
        jpeg = client.retrieve_instance_rendered(
            sample.study_uid, sample.series_uid, sample.sop_uid, media_types=("image/jpeg",)
        )
        decoded = Image.open(BytesIO(jpeg))
        assert decoded.format == "JPEG"
        error = [abs(a - b) for a, b in zip(decoded.tobytes(), windowed(sample), strict=True)]
        assert sum(error) / len(error) < 4  # lossy, but the same picture


def test_media_types_viewport_and_frames(stored: tuple[DICOMwebClient, str]) -> None:
    _, url = stored
    rendered = f"{url}{path(CT)}/rendered"
    for accept in (None, "*/*", "image/*", "image/png;q=0.5, image/jpeg"):
        status, kind, body = get(rendered, accept)
        assert (status, kind) == (200, "image/jpeg"), accept
        assert body.startswith(b"\xff\xd8")
    status, kind, _ = get(rendered, "image/gif, image/png;q=0.1")
    assert (status, kind) == (200, "image/png")
    status, kind, body = get(rendered, "image/gif")
    assert (status, kind) == (406, "text/plain; charset=utf-8")
    assert body.decode() == (
        "no supported media type found in [image/gif], accept-header must include one of "
        "image/jpeg,image/png"
    )

    # OHIF's thumbnails ask for viewport=256,256: the image is fitted, aspect ratio kept
    fitted = (("256,256", (256, 256)), ("32,16", (16, 16)), ("8,8,32,0,32,32", (8, 8)))
    for viewport, size in fitted:
        status, _, body = get(f"{rendered}?viewport={viewport}", "image/png")
        assert status == 200, body
        assert Image.open(BytesIO(body)).size == size, viewport
    region = Image.open(BytesIO(get(f"{rendered}?viewport=32,32,32,0,32,32", "image/png")[2]))
    expected = Image.frombytes("L", (64, 64), windowed(CT)).crop((32, 0, 64, 32))
    assert region.tobytes() == expected.tobytes()
    for bad in ("0,10", "a,b", "10", "8,8,60,0,32,32"):
        assert get(f"{rendered}?viewport={bad}", "image/png")[0] == 400, bad

    frame = get(f"{url}{path(CT)}/frames/1/rendered", "image/png")
    assert frame[:2] == (200, "image/png")
    assert frame[2] == get(rendered, "image/png")[2]
    for frames in ("2", "1,1", "x"):
        assert get(f"{url}{path(CT)}/frames/{frames}/rendered")[0] == 400, frames


def test_the_window_google_applies_is_a_setting(
    emulator: RunningEmulator, stored: tuple[DICOMwebClient, str]
) -> None:
    _, url = stored
    emulator.world.settings = emulator.world.settings.updated({"rendered_window": "range"})
    body = get(f"{url}{path(CT)}/rendered", "image/png")[2]
    raw = memoryview(pydicom.dcmread(BytesIO(CT.data)).PixelData).cast("H")
    low, high = min(raw) - 1024, max(raw) - 1024
    assert Image.open(BytesIO(body)).tobytes() == windowed(CT, (low + high + 1) / 2, high - low + 1)
    with pytest.raises(ValueError, match="rendered_window"):
        emulator.world.settings.updated({"rendered_window": "auto"})


def test_series_and_studies_are_not_rendered(stored: tuple[DICOMwebClient, str]) -> None:
    """Google renders instances and frames only; OHIF then falls back to an instance."""
    _, url = stored
    series = f"{url}/studies/{CT.study_uid}/series/{CT.series_uid}/rendered"
    assert get(series, "image/jpeg")[0] == 404
