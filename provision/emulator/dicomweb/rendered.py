"""DICOMweb Retrieve Rendered: one frame of an instance as a consumer image (JPEG or PNG).

Google serves rendered instances and frames (not studies or series, and no thumbnails) as
`image/jpeg` (the default) or `image/png`, and takes one query parameter, `viewport` (PS3.18
8.3.5.1.3: `vw,vh` or `vw,vh,sx,sy,sw,sh`). The pixels go through the standard's pipeline for a
grayscale image (PS3.4 N.2): the stored values, the Modality LUT (Rescale Slope / Intercept),
then a VOI transformation, then MONOCHROME1 inverted; colour images (RGB, YBR_FULL) are shown as
they are. Which VOI transformation Google applies when the request names none is not documented:
the `rendered_window` setting chooses the instance's first Window Center / Width (`instance`,
the default: what the instance says it should look like) or the range of values in the frame
(`range`). The JPEG quality Google encodes with is not documented either (`rendered_jpeg_quality`).

The emulator renders native (uncompressed) pixel data of 8 or 16 bits; anything else answers 501,
naming what it cannot render.
"""

from __future__ import annotations

import math
import sys
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import Any, NoReturn

from PIL import Image
from pydicom.multival import MultiValue

from provision.emulator.core.errors import ApiError

JPEG = "image/jpeg"
PNG = "image/png"
MEDIA_TYPES = (JPEG, PNG)
"""What Google renders to, the default first."""


@dataclass(frozen=True)
class Viewport:
    """`viewport=vw,vh[,sx,sy,sw,sh]`: fit the image (or the region `sx,sy,sw,sh` of it) into
    `vw` x `vh` pixels, keeping its aspect ratio."""

    width: int
    height: int
    region: tuple[int, int, int, int] | None = None


def media_type(accept: str) -> str | None:
    """The rendered media type for an Accept header: the acceptable one with the highest
    quality (the first listed on a tie), JPEG for none, `*/*` or `image/*`; None when the header
    accepts neither (see `not_acceptable`)."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(part for part in accept.split(",") if part.strip()):
        kind, *params = (p.strip() for p in item.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranked.append((-quality, position, kind.lower()))
    if not ranked:
        return JPEG
    for negative_quality, _, kind in sorted(ranked):
        if negative_quality == 0:
            break
        if kind in MEDIA_TYPES:
            return kind
        if kind in ("*/*", "image/*"):
            return JPEG
    return None


def not_acceptable(accept: str) -> str:
    """The plain-text body of the 406 for an Accept header `media_type` refuses, in the form
    Google's DICOMweb answers retrieve requests with (observed for retrieveInstance in
    GoogleCloudPlatform/healthcare-api-dicomweb-cli issue 22; the rendered form is assumed)."""
    return (
        f"no supported media type found in [{accept}], accept-header must include one of "
        f"{','.join(MEDIA_TYPES)}"
    )


def parse_viewport(value: str | None) -> Viewport | None:
    """The `viewport` query parameter; 400 when it is not 2 or 6 integers that make sense."""
    if value is None:
        return None
    try:
        numbers = [int(part) for part in value.split(",")]
    except ValueError:
        numbers = []
    if len(numbers) not in (2, 6) or numbers[0] <= 0 or numbers[1] <= 0:
        raise ApiError(
            "INVALID_ARGUMENT",
            f"invalid viewport {value!r}: expected vw,vh or vw,vh,sx,sy,sw,sh with vw and vh "
            "positive.",
        )
    if len(numbers) == 2:
        return Viewport(numbers[0], numbers[1])
    sx, sy, sw, sh = numbers[2:]
    if sx < 0 or sy < 0 or sw <= 0 or sh <= 0:
        raise ApiError(
            "INVALID_ARGUMENT",
            f"invalid viewport {value!r}: the region needs sx, sy >= 0 and sw, sh > 0.",
        )
    return Viewport(numbers[0], numbers[1], (sx, sy, sw, sh))


def render(
    dataset: Any,
    frame: bytes,
    kind: str,
    viewport: Viewport | None,
    *,
    window: str = "instance",
    jpeg_quality: int = 90,
) -> bytes:
    """`frame` (one frame of `dataset`'s native pixel data) as `kind` (JPEG or PNG)."""
    image = _image(dataset, frame, window)
    if viewport is not None:
        image = _fit(image, viewport)
    out = BytesIO()
    if kind == PNG:
        image.save(out, "PNG")
    else:
        image.save(out, "JPEG", quality=jpeg_quality)
    return out.getvalue()


def _image(dataset: Any, frame: bytes, window: str) -> Image.Image:
    if dataset.file_meta.TransferSyntaxUID.is_encapsulated:
        _cannot(f"compressed pixel data ({dataset.file_meta.TransferSyntaxUID.name})")
    rows, columns = int(dataset.Rows), int(dataset.Columns)
    samples = int(dataset.get("SamplesPerPixel", 1))
    photometric = str(dataset.get("PhotometricInterpretation", "MONOCHROME2")).strip()
    bits = int(dataset.BitsAllocated)
    if samples == 1 and photometric in ("MONOCHROME1", "MONOCHROME2") and bits in (8, 16):
        values = _stored_values(dataset, frame, rows * columns)
        grey = _greyscale(dataset, values, window, invert=photometric == "MONOCHROME1")
        return Image.frombytes("L", (columns, rows), grey)
    if samples == 3 and bits == 8 and photometric in ("RGB", "YBR_FULL"):
        size = rows * columns
        if len(frame) < 3 * size:
            raise ApiError("INVALID_ARGUMENT", "the frame holds fewer pixels than Rows x Columns.")
        mode = "RGB" if photometric == "RGB" else "YCbCr"
        if int(dataset.get("PlanarConfiguration", 0)) == 1:
            planes = [
                Image.frombytes("L", (columns, rows), frame[i * size : (i + 1) * size])
                for i in range(3)
            ]
            image = Image.merge(mode, planes)
        else:
            image = Image.frombytes(mode, (columns, rows), frame[: 3 * size])
        return image.convert("RGB")
    _cannot(f"{samples} sample(s) of {bits} bits, {photometric}")


def _cannot(what: str) -> NoReturn:
    raise ApiError(
        "UNIMPLEMENTED",
        f"the emulator does not render {what}; it renders native 8 or 16 bit MONOCHROME1, "
        "MONOCHROME2, RGB and YBR_FULL pixel data.",
        http=501,
    )


def _stored_values(dataset: Any, frame: bytes, count: int) -> Sequence[int]:
    """The frame's stored values: BitsStored bits of each value, sign-extended when
    PixelRepresentation is 1."""
    bits = int(dataset.BitsAllocated)
    stored = int(dataset.get("BitsStored", bits))
    signed = int(dataset.get("PixelRepresentation", 0)) == 1
    raw = array("B" if bits == 8 else "H")
    needed = count * raw.itemsize
    if len(frame) < needed:
        raise ApiError("INVALID_ARGUMENT", "the frame holds fewer pixels than Rows x Columns.")
    raw.frombytes(frame[:needed])
    little = dataset.file_meta.TransferSyntaxUID.is_little_endian
    if raw.itemsize > 1 and little != (sys.byteorder == "little"):
        raw.byteswap()
    mask = (1 << stored) - 1
    if stored == bits and not signed:
        return raw
    table = {}
    for value in set(raw):
        masked = value & mask
        if signed and masked >> (stored - 1):
            masked -= 1 << stored
        table[value] = masked
    return [table[value] for value in raw]


def _greyscale(dataset: Any, values: Sequence[int], window: str, *, invert: bool) -> bytes:
    """8-bit grey levels: Modality LUT, then the VOI transformation, then MONOCHROME1 inverted."""
    slope = float(dataset.get("RescaleSlope", 1) or 1)
    intercept = float(dataset.get("RescaleIntercept", 0) or 0)
    distinct = set(values)
    extremes = sorted(v * slope + intercept for v in (min(distinct), max(distinct)))
    voi = _voi(dataset, window, extremes)
    table = {}
    for value in distinct:
        level = round(voi(value * slope + intercept))
        table[value] = 255 - level if invert else level
    return bytes(table[value] for value in values)


def _voi(dataset: Any, window: str, extremes: list[float]) -> Callable[[float], float]:
    """The VOI transformation to 0..255 (PS3.3 C.11.2.1.2): the instance's first window with
    its VOI LUT Function, or, without one (or with `window="range"`), the frame's value range."""
    center = _first(dataset.get("WindowCenter"))
    width = _first(dataset.get("WindowWidth"))
    if window == "range" or center is None or width is None or width < 1:
        low, high = extremes
        center, width, function = (low + high + 1) / 2, high - low + 1, "LINEAR"
    else:
        function = str(dataset.get("VOILUTFunction", "LINEAR")).strip() or "LINEAR"
    if function == "SIGMOID":
        return lambda x: 255 / (1 + math.exp(-4 * (x - center) / width))
    if function == "LINEAR_EXACT":
        return lambda x: min(255.0, max(0.0, ((x - center) / width + 0.5) * 255))
    if width == 1:
        return lambda x: 0.0 if x < center else 255.0
    return lambda x: min(255.0, max(0.0, ((x - (center - 0.5)) / (width - 1) + 0.5) * 255))


def _first(value: Any) -> float | None:
    """The first of a (possibly multi-valued) DS element, or None."""
    if value is None or value == "":
        return None
    try:
        return float(value[0] if isinstance(value, MultiValue | list | tuple) else value)
    except (TypeError, ValueError, IndexError):
        return None


def _fit(image: Image.Image, viewport: Viewport) -> Image.Image:
    """The image (or its region) scaled to fit the viewport, aspect ratio kept."""
    if viewport.region is not None:
        sx, sy, sw, sh = viewport.region
        if sx + sw > image.width or sy + sh > image.height:
            raise ApiError(
                "INVALID_ARGUMENT",
                f"the viewport region {sx},{sy},{sw},{sh} lies outside the "
                f"{image.width} x {image.height} image.",
            )
        image = image.crop((sx, sy, sx + sw, sy + sh))
    scale = min(viewport.width / image.width, viewport.height / image.height)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    if size == image.size:
        return image
    return image.resize(size, Image.Resampling.BILINEAR)
