"""The synthetic samples are images worth looking at: real-sized slices of a phantom with
plausible values, evenly spaced in series, and a window that shows their structure."""

from __future__ import annotations

from collections import defaultdict
from io import BytesIO
from itertools import pairwise

import pydicom

from provision.emulator import samples


def _pixels(dataset: pydicom.Dataset) -> list[float]:
    """Stored values through the modality LUT (Hounsfield units for CT)."""
    slope = float(dataset.get("RescaleSlope", 1))
    intercept = float(dataset.get("RescaleIntercept", 0))
    return [value * slope + intercept for value in memoryview(dataset.PixelData).cast("H")]


def _share(values: list[float], low: float, high: float) -> float:
    return sum(1 for v in values if low <= v < high) / len(values)


def test_series_are_stacks_of_real_sized_evenly_spaced_slices() -> None:
    series: dict[str, list[pydicom.Dataset]] = defaultdict(list)
    for sample in samples.generate(12, seed=4, studies=2):
        dataset = pydicom.dcmread(BytesIO(sample.data))
        assert (dataset.Rows, dataset.Columns) == (256, 256)
        assert len(dataset.PixelData) == 256 * 256 * 2
        series[sample.series_uid].append(dataset)
    assert len(series) == 4
    for slices in series.values():
        assert len(slices) == 3
        assert len({d.FrameOfReferenceUID for d in slices}) == 1
        zs = sorted(float(d.ImagePositionPatient[2]) for d in slices)
        thickness = float(slices[0].SliceThickness)
        assert [b - a for a, b in pairwise(zs)] == [thickness, thickness]
        assert [float(v) for v in slices[0].ImageOrientationPatient] == [1, 0, 0, 0, 1, 0]
        # the anatomy changes from slice to slice
        assert len({bytes(d.PixelData) for d in slices}) == 3


def test_ct_slices_hold_hounsfield_units_the_soft_tissue_window_shows() -> None:
    dataset = pydicom.dcmread(BytesIO(samples.instance(seed=1, study=1, series=1, number=2).data))
    assert dataset.Modality == "CT"
    assert dataset.RescaleType == "HU"
    hu = _pixels(dataset)
    assert _share(hu, -1024, -900) > 0.2  # air around the body
    assert _share(hu, -900, -700) > 0.05  # lungs
    assert _share(hu, -150, 80) > 0.2  # fat, muscle and soft tissue
    assert _share(hu, 150, 800) > 0.01  # contrast-filled heart and aorta, bone
    center, width = float(dataset.WindowCenter), float(dataset.WindowWidth)
    low, high = center - width / 2, center + width / 2
    assert (center, width) == (40, 400)
    assert _share(hu, low, high) > 0.2  # grey levels inside the window
    assert _share(hu, -2000, low) > 0.2  # black
    assert _share(hu, high, 4000) > 0.01  # white


def test_mr_slices_show_grey_and_white_matter_in_their_window() -> None:
    dataset = pydicom.dcmread(
        BytesIO(samples.instance(seed=1, study=1, series=2, number=1, modality="MR").data)
    )
    assert "RescaleIntercept" not in dataset
    values = _pixels(dataset)
    center, width = float(dataset.WindowCenter), float(dataset.WindowWidth)
    low, high = center - width / 2, center + width / 2
    assert _share(values, 450, 550) > 0.05  # grey matter
    assert _share(values, 650, 750) > 0.1  # white matter
    assert _share(values, low + width * 0.1, high - width * 0.1) > 0.2
    assert _share(values, 0, low + width * 0.05) > 0.2  # black: no signal around the head


def test_other_sizes_keep_the_field_of_view() -> None:
    small = pydicom.dcmread(BytesIO(samples.generate(1, seed=2, size=64)[0].data))
    full = pydicom.dcmread(BytesIO(samples.generate(1, seed=2)[0].data))
    assert (small.Rows, small.Columns) == (64, 64)
    assert float(small.PixelSpacing[0]) * 64 == float(full.PixelSpacing[0]) * 256
    assert small.SOPInstanceUID == full.SOPInstanceUID
