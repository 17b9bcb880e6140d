"""Small synthetic DICOM instances for demos and tests: valid Part 10 files (CT and MR, 16-bit
monochrome pixel data) with deterministic UIDs derived from a seed, so the same seed always gives
the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID, ExplicitVRLittleEndian, generate_uid

SOP_CLASSES = {
    "CT": "1.2.840.10008.5.1.4.1.1.2",  # CT Image Storage
    "MR": "1.2.840.10008.5.1.4.1.1.4",  # MR Image Storage
}


@dataclass(frozen=True)
class Sample:
    path: str
    """Relative path such as `study-1/series-1-CT/instance-0001.dcm`."""
    data: bytes
    study_uid: str
    series_uid: str
    sop_uid: str


def _uid(seed: int, *parts: object) -> str:
    return generate_uid(entropy_srcs=["provision-sample", str(seed), *map(str, parts)])


def _pixels(size: int, seed: int, number: int) -> bytes:
    """A deterministic 12-bit gradient with a bright square that moves with `number`."""
    out = bytearray()
    box = (number * 3) % max(size - 4, 1)
    for row in range(size):
        for column in range(size):
            value = (row * 37 + column * 11 + seed * 7) % 1024
            if box <= row < box + 4 and box <= column < box + 4:
                value = 4000
            out += value.to_bytes(2, "little")
    return bytes(out)


def instance(
    *,
    seed: int,
    study: int,
    series: int,
    number: int,
    modality: str = "CT",
    size: int = 16,
) -> Sample:
    """One synthetic instance; UIDs depend only on (seed, study, series, number)."""
    study_uid = _uid(seed, "study", study)
    series_uid = _uid(seed, "series", study, series)
    sop_uid = _uid(seed, "instance", study, series, number)
    sop_class = SOP_CLASSES[modality]

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
    ds.StudyDescription = f"Synthetic {modality} study {study}"
    ds.SeriesDescription = f"Synthetic {modality} series {series}"
    ds.PatientName = f"Synthetic^Patient{study}"
    ds.PatientID = f"SYN-{seed:03d}-{study:04d}"
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "O"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = str(study)
    ds.SeriesNumber = series
    ds.InstanceNumber = number
    ds.ImagePositionPatient = [0.0, 0.0, float(number)]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.FrameOfReferenceUID = _uid(seed, "frame", study)
    ds.SliceThickness = 1.0
    ds.PixelSpacing = [1.0, 1.0]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = size
    ds.Columns = size
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.WindowCenter = 2048
    ds.WindowWidth = 4096
    if modality == "CT":
        ds.RescaleIntercept = -1024
        ds.RescaleSlope = 1
    ds.PixelData = _pixels(size, seed, number)

    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    path = f"study-{study}/series-{series}-{modality}/instance-{number:04d}.dcm"
    return Sample(path, buffer.getvalue(), study_uid, series_uid, sop_uid)


def generate(
    count: int, *, seed: int = 0, studies: int = 1, series_per_study: int = 2
) -> list[Sample]:
    """`count` instances spread round-robin over `studies` x `series_per_study` series;
    series alternate between CT and MR."""
    samples = []
    for index in range(count):
        series_slot = index % (studies * series_per_study)
        study, series = divmod(series_slot, series_per_study)
        modality = "CT" if series % 2 == 0 else "MR"
        number = index // (studies * series_per_study) + 1
        samples.append(
            instance(
                seed=seed, study=study + 1, series=series + 1, number=number, modality=modality
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
