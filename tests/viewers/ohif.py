"""OHIF in Debian's Chromium, driven by Playwright for Python: what a user of the viewer sees.

The browser is the system one (`/usr/bin/chromium`, Debian package `chromium`), headless, with a
fresh profile and no background networking; Playwright downloads no browser. `check_viewer`
opens the study list, each study, and the first study in OHIF's MPR layout (volume viewports), and
returns what was seen: the study list's text, per study the viewport's pixels (and the series
thumbnails'), the MPR viewports' pixel variance, and every DICOMweb exchange with its status.
Screenshots go to `ARTIFACTS` (`PROVISION_ARTIFACTS`, default `.provision/artifacts`).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

import pydicom
from playwright.sync_api import Browser, Page, Response, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
NOT_INSTALLED = "needs Debian's chromium (make viewer-check installs it)"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = (
    Path(os.environ.get("PROVISION_ARTIFACTS", REPO / ".provision" / "artifacts")) / "viewer"
)
VIEWPORT = {"width": 1280, "height": 800}
RENDER_SECONDS = 60.0
GRID = 32
"""Pixels are compared as GRID x GRID block means of the displayed image."""

# The viewport canvas as GRID x GRID block means of its red channel, over the centred square the
# image is fitted into (OHIF's stack viewport fits the image to the viewport, centred), plus the
# canvas's pixel variance; and the same variance for every thumbnail image.
_PIXELS_JS = """([grid]) => {
  const stats = (source, w, h) => {
    const scratch = document.createElement('canvas');
    scratch.width = w; scratch.height = h;
    const context = scratch.getContext('2d');
    context.drawImage(source, 0, 0);
    const data = context.getImageData(0, 0, w, h).data;
    let n = 0, sum = 0, squares = 0;
    for (let i = 0; i < data.length; i += 4) { n++; sum += data[i]; squares += data[i] * data[i]; }
    const mean = sum / n;
    return {context, variance: squares / n - mean * mean};
  };
  const canvas = document.querySelector('canvas.cornerstone-canvas');
  const thumbs = Array.from(document.querySelectorAll('img'))
    .filter(img => /^(data|blob):/.test(img.src) && img.naturalWidth > 0)
    .map(img => stats(img, img.naturalWidth, img.naturalHeight).variance);
  if (!canvas || !canvas.width || !canvas.height) return {variance: 0, blocks: [], thumbs};
  const {context, variance} = stats(canvas, canvas.width, canvas.height);
  const side = Math.min(canvas.width, canvas.height);
  const x0 = Math.floor((canvas.width - side) / 2), y0 = Math.floor((canvas.height - side) / 2);
  const data = context.getImageData(x0, y0, side, side).data;
  const blocks = new Array(grid * grid).fill(0), counts = new Array(grid * grid).fill(0);
  for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) {
    const b = Math.floor(y * grid / side) * grid + Math.floor(x * grid / side);
    blocks[b] += data[(y * side + x) * 4]; counts[b]++;
  }
  return {variance, blocks: blocks.map((v, i) => v / counts[i]), thumbs};
}"""


# The pixel variance of every viewport canvas (MPR shows three).
_VIEWPORTS_JS = """() => Array.from(document.querySelectorAll('canvas.cornerstone-canvas'))
  .filter(c => c.width && c.height).map(c => {
    const scratch = document.createElement('canvas');
    scratch.width = c.width; scratch.height = c.height;
    const context = scratch.getContext('2d');
    context.drawImage(c, 0, 0);
    const data = context.getImageData(0, 0, c.width, c.height).data;
    let n = 0, sum = 0, squares = 0;
    for (let i = 0; i < data.length; i += 4) { n++; sum += data[i]; squares += data[i] * data[i]; }
    const mean = sum / n;
    return squares / n - mean * mean;
  })"""


@dataclass(frozen=True)
class Exchange:
    method: str
    url: str
    status: int
    """HTTP status, or 0 when the request failed without an answer."""
    detail: str = ""


@dataclass(frozen=True)
class Pixels:
    variance: float
    """Pixel variance of the viewport canvas (0 for a blank one)."""
    blocks: tuple[float, ...]
    thumbnails: tuple[float, ...]
    """Pixel variance of each series thumbnail."""


@dataclass
class Seen:
    study_list: str = ""
    pixels: dict[str, Pixels] = field(default_factory=dict)
    """Study Instance UID -> what its viewport showed."""
    mpr: tuple[float, ...] = ()
    """Pixel variance of each viewport of the first study in OHIF's MPR layout (volume
    viewports: axial, sagittal, coronal)."""
    exchanges: list[Exchange] = field(default_factory=list)
    """Every request to the DICOMweb root."""

    def errors(self) -> list[Exchange]:
        return [e for e in self.exchanges if not 200 <= e.status < 400]

    def frames(self) -> list[Exchange]:
        return [e for e in self.exchanges if "/frames/" in e.url and e.status == 200]


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless; each `new_context()` gets a fresh profile."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=FLAGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


def check_viewer(
    browser: Browser, url: str, dicomweb_root: str, studies: Mapping[str, int], name: str
) -> Seen:
    """Open the study list at `url`, then each study (Study Instance UID -> how many series it
    has, so how many thumbnails to wait for); screenshots as `{name}-*.png`."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    seen = Seen()
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    try:
        page = context.new_page()
        _watch(page, dicomweb_root, seen)
        page.goto(f"{url}/")
        page.wait_for_selector("text=Synthetic, Patient", timeout=RENDER_SECONDS * 1000)
        _dismiss_notices(page)
        seen.study_list = page.inner_text("body")
        page.screenshot(path=ARTIFACTS / f"{name}-study-list.png")
        for number, (study, series) in enumerate(studies.items(), start=1):
            page.goto(f"{url}/viewer?StudyInstanceUIDs={study}")
            seen.pixels[study] = _rendered(page, series)
            _dismiss_notices(page)
            page.screenshot(path=ARTIFACTS / f"{name}-study-{number}.png")
        first = next(iter(studies))
        page.goto(f"{url}/viewer?StudyInstanceUIDs={first}&hangingprotocolId=mpr")
        seen.mpr = _volumes(page)
        _dismiss_notices(page)
        page.screenshot(path=ARTIFACTS / f"{name}-mpr.png")
        page.wait_for_load_state("networkidle")
    finally:
        context.close()
    return seen


def _watch(page: Page, root: str, seen: Seen) -> None:
    def answered(response: Response) -> None:
        if response.url.startswith(root):
            request = response.request
            seen.exchanges.append(Exchange(request.method, response.url, response.status))

    def failed(request: Any) -> None:
        if request.url.startswith(root):
            seen.exchanges.append(Exchange(request.method, request.url, 0, request.failure or ""))

    page.on("response", answered)
    page.on("requestfailed", failed)


def _rendered(page: Page, series: int) -> Pixels:
    """The viewport once it shows an image and each of the `series` has a thumbnail with an
    image (or what they show after RENDER_SECONDS)."""
    deadline = time.monotonic() + RENDER_SECONDS
    while True:
        found = page.evaluate(_PIXELS_JS, [GRID])
        pixels = Pixels(
            float(found["variance"]),
            tuple(float(v) for v in found["blocks"]),
            tuple(float(v) for v in found["thumbs"]),
        )
        thumbnails = pixels.thumbnails
        settled = pixels.variance > 0 and len(thumbnails) >= series and min(thumbnails) > 0
        if settled or time.monotonic() > deadline:
            return pixels
        time.sleep(0.5)


def _volumes(page: Page) -> tuple[float, ...]:
    """The MPR viewports once all three show something (or what they show after RENDER_SECONDS)."""
    deadline = time.monotonic() + RENDER_SECONDS
    while True:
        variances = tuple(float(v) for v in page.evaluate(_VIEWPORTS_JS))
        if (len(variances) == 3 and min(variances) > 0) or time.monotonic() > deadline:
            return variances
        time.sleep(0.5)


def _dismiss_notices(page: Page) -> None:
    """Close OHIF's first-visit notices (investigational use, the tour) so screenshots show the
    images."""
    for label in ("Confirm and hide", "Skip all"):
        button = page.get_by_text(label, exact=True)
        if button.count():
            button.first.click()


def windowed_blocks(data: bytes) -> tuple[float, ...]:
    """The GRID x GRID block means of a sample slice as a viewer shows it: rescaled, through its
    window centre / width, as 0-255 grey."""
    dataset = pydicom.dcmread(BytesIO(data))
    rows, columns = int(dataset.Rows), int(dataset.Columns)
    raw = memoryview(dataset.PixelData).cast("H")
    slope = float(dataset.get("RescaleSlope", 1))
    intercept = float(dataset.get("RescaleIntercept", 0))
    center, width = float(dataset.WindowCenter), float(dataset.WindowWidth)
    sums = [0.0] * (GRID * GRID)
    counts = [0] * (GRID * GRID)
    for y in range(rows):
        for x in range(columns):
            value = raw[y * columns + x] * slope + intercept
            grey = min(255.0, max(0.0, ((value - center) / width + 0.5) * 255))
            block = (y * GRID // rows) * GRID + x * GRID // columns
            sums[block] += grey
            counts[block] += 1
    return tuple(s / c for s, c in zip(sums, counts, strict=True))


def correlation(first: Sequence[float], second: Sequence[float]) -> float:
    """Pearson correlation of two equally long series (0 when either is flat)."""
    if len(first) != len(second) or not first:
        return 0.0
    mean_a, mean_b = sum(first) / len(first), sum(second) / len(second)
    da = [a - mean_a for a in first]
    db = [b - mean_b for b in second]
    norm = math.sqrt(sum(a * a for a in da) * sum(b * b for b in db))
    return sum(a * b for a, b in zip(da, db, strict=True)) / norm if norm else 0.0
