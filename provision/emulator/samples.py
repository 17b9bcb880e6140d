"""Synthetic DICOM instances for demos and tests: valid Part 10 files with deterministic UIDs
derived from a seed, so the same seed always gives the same bytes.

Each instance is one 256 x 256 slice (12 bits stored in 16) of a simple phantom that a viewer
shows as anatomy: CT series are a chest (air, fat, muscle, lungs, heart, aorta, spine, in
Hounsfield units through the rescale intercept, windowed for soft tissue), MR series a head
(scalp, skull, grey and white matter, ventricles; T1-like values). The phantom changes from slice
to slice, slices of a series are evenly spaced along the patient's z axis, and a little seeded
noise keeps the images from looking flat. A slice is about 128 KiB.
"""

from __future__ import annotations

import math
import random
import sys
from array import array
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID, ExplicitVRLittleEndian, generate_uid

SOP_CLASSES = {
    "CT": "1.2.840.10008.5.1.4.1.1.2",  # CT Image Storage
    "MR": "1.2.840.10008.5.1.4.1.1.4",  # MR Image Storage
}
SIZE = 256
"""Rows and columns of every sample slice unless asked otherwise."""


@dataclass(frozen=True)
class Sample:
    path: str
    """Relative path such as `study-1/series-1-CT/instance-0001.dcm`."""
    data: bytes
    study_uid: str
    series_uid: str
    sop_uid: str


@dataclass(frozen=True)
class Ellipse:
    """A filled ellipse in image fractions (centre, radii) with one stored pixel value."""

    cx: float
    cy: float
    rx: float
    ry: float
    value: int


@dataclass(frozen=True)
class Protocol:
    """What one modality's slices look like and how they are described."""

    body_part: str
    pixel_spacing: float
    """Millimetres per pixel at 256 x 256 (scaled for other sizes)."""
    slice_thickness: float
    window_center: int
    window_width: int
    rescale_intercept: int | None
    noise: int
    """Noise amplitude in stored values."""


PROTOCOLS = {
    "CT": Protocol("CHEST", 1.5, 2.5, 40, 400, -1024, 10),
    "MR": Protocol("HEAD", 0.9375, 5.0, 450, 900, None, 20),
}


def _uid(seed: int, *parts: object) -> str:
    return generate_uid(entropy_srcs=["provision-sample", str(seed), *map(str, parts)])


def _chest(number: int) -> list[Ellipse]:
    """Axial chest CT at slice `number`; stored value = HU + 1024."""
    breath = 0.85 + 0.15 * math.cos(number / 3)
    heart = 0.10 + 0.02 * math.sin(number / 2)
    return [
        Ellipse(0.5, 0.52, 0.42, 0.32, 924),  # subcutaneous fat, -100 HU
        Ellipse(0.5, 0.52, 0.39, 0.29, 1064),  # muscle and soft tissue, 40 HU
        Ellipse(0.31, 0.47, 0.13 * breath, 0.20 * breath, 174),  # right lung, -850 HU
        Ellipse(0.69, 0.47, 0.12 * breath, 0.19 * breath, 174),  # left lung
        Ellipse(0.55, 0.47, heart, heart * 0.85, 1224),  # heart, contrast, 200 HU
        Ellipse(0.47, 0.62, 0.035, 0.035, 1274),  # descending aorta, 250 HU
        Ellipse(0.5, 0.76, 0.055, 0.05, 1724),  # vertebral body cortex, 700 HU
        Ellipse(0.5, 0.76, 0.04, 0.035, 1324),  # cancellous bone, 300 HU
    ]


def _head(number: int) -> list[Ellipse]:
    """Axial T1-weighted head MR at slice `number`."""
    level = 1.0 - 0.03 * number
    ventricle = 0.07 + 0.03 * math.sin(number / 2)
    return [
        Ellipse(0.5, 0.5, 0.40 * level, 0.46 * level, 900),  # scalp (fat, bright)
        Ellipse(0.5, 0.5, 0.37 * level, 0.43 * level, 80),  # skull (cortical bone, dark)
        Ellipse(0.5, 0.5, 0.34 * level, 0.40 * level, 500),  # grey matter
        Ellipse(0.5, 0.5, 0.27 * level, 0.32 * level, 700),  # white matter
        Ellipse(0.45, 0.46, 0.03, ventricle, 150),  # lateral ventricles (CSF, dark)
        Ellipse(0.55, 0.46, 0.03, ventricle, 150),
    ]


def _background(modality: str) -> int:
    return 24 if modality == "CT" else 0  # air: -1000 HU, or no MR signal


def _pixels(modality: str, size: int, rng: random.Random, number: int) -> bytes:
    """One slice of the modality's phantom, row by row, as 16-bit little-endian values."""
    shapes = _chest(number) if modality == "CT" else _head(number)
    amplitude = PROTOCOLS[modality].noise
    noise = rng.randbytes(size * size)
    values = array("H")
    for row in range(size):
        line = [_background(modality)] * size
        y = (row + 0.5) / size
        for shape in shapes:
            offset = (y - shape.cy) / shape.ry
            if abs(offset) >= 1:
                continue
            half = shape.rx * math.sqrt(1 - offset * offset)
            start = max(0, math.ceil((shape.cx - half) * size - 0.5))
            stop = min(size, math.floor((shape.cx + half) * size - 0.5) + 1)
            line[start:stop] = [shape.value] * (stop - start)
        base = row * size
        values.extend(
            value + noise[base + column] % (amplitude + 1) for column, value in enumerate(line)
        )
    if sys.byteorder == "big":
        values.byteswap()
    return values.tobytes()


def instance(
    *,
    seed: int,
    study: int,
    series: int,
    number: int,
    modality: str = "CT",
    size: int = SIZE,
) -> Sample:
    """One synthetic slice; UIDs depend only on (seed, study, series, number), the pixels also
    on the modality and size."""
    study_uid = _uid(seed, "study", study)
    series_uid = _uid(seed, "series", study, series)
    sop_uid = _uid(seed, "instance", study, series, number)
    sop_class = SOP_CLASSES[modality]
    protocol = PROTOCOLS[modality]

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class)
    meta.MediaStorageSOPInstanceUID = UID(sop_uid)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID

    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.StudyDate = f"2024{1 + study % 12:02d}{1 + seed % 28:02d}"
    ds.StudyTime = "120000"
    ds.AccessionNumber = f"ACC{seed:03d}{study:04d}"
    ds.Modality = modality
    ds.ReferringPhysicianName = "Referrer^Demo"
    ds.StudyDescription = f"Synthetic study {study}"
    ds.SeriesDescription = f"Synthetic {modality} {protocol.body_part.lower()} series {series}"
    ds.BodyPartExamined = protocol.body_part
    ds.PatientName = f"Synthetic^Patient{study}"
    ds.PatientID = f"SYN-{seed:03d}-{study:04d}"
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "O"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = str(study)
    ds.SeriesNumber = series
    ds.InstanceNumber = number
    spacing = protocol.pixel_spacing * SIZE / size
    corner = -spacing * size / 2
    z = (number - 1) * protocol.slice_thickness
    ds.ImagePositionPatient = [corner, corner, z]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.SliceLocation = z
    ds.FrameOfReferenceUID = _uid(seed, "frame", study, series)
    ds.SliceThickness = protocol.slice_thickness
    ds.PixelSpacing = [spacing, spacing]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = size
    ds.Columns = size
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.WindowCenter = protocol.window_center
    ds.WindowWidth = protocol.window_width
    if protocol.rescale_intercept is not None:
        ds.RescaleIntercept = protocol.rescale_intercept
        ds.RescaleSlope = 1
        ds.RescaleType = "HU"
    rng = random.Random(f"{seed}/{study}/{series}/{number}")
    ds.PixelData = _pixels(modality, size, rng, number)

    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    path = f"study-{study}/series-{series}-{modality}/instance-{number:04d}.dcm"
    return Sample(path, buffer.getvalue(), study_uid, series_uid, sop_uid)


def generate(
    count: int, *, seed: int = 0, studies: int = 1, series_per_study: int = 2, size: int = SIZE
) -> list[Sample]:
    """`count` slices of `size` x `size` pixels spread round-robin over `studies` x
    `series_per_study` series (so each series gets about count / (studies x series_per_study)
    slices); series alternate between CT and MR."""
    samples = []
    for index in range(count):
        series_slot = index % (studies * series_per_study)
        study, series = divmod(series_slot, series_per_study)
        modality = "CT" if series % 2 == 0 else "MR"
        number = index // (studies * series_per_study) + 1
        samples.append(
            instance(
                seed=seed,
                study=study + 1,
                series=series + 1,
                number=number,
                modality=modality,
                size=size,
            )
        )
    return samples


def write(directory: Path, count: int, *, seed: int = 0, studies: int = 1) -> list[Path]:
    """Write `generate(...)` under `directory`; returns the file paths."""
    paths = []
    for sample in generate(count, seed=seed, studies=studies):
        path = directory / sample.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(sample.data)
        paths.append(path)
    return paths
