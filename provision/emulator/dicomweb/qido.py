"""QIDO-RS: which attributes each level returns and how query keys match.

Matching is exact and single-valued, as Google's is, except StudyDate (ranges `a-b`, `a-`,
`-b`) and PatientName with `fuzzymatching=true` (prefix match on any name component,
case-insensitive). Keys may be given by keyword or by 8-digit hex tag.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydicom.datadict import keyword_for_tag, tag_for_keyword

from provision.emulator.core.errors import ApiError

STUDY_KEYS = (
    "StudyInstanceUID",
    "PatientName",
    "PatientID",
    "AccessionNumber",
    "ReferringPhysicianName",
    "StudyDate",
)
SERIES_KEYS = (*STUDY_KEYS, "SeriesInstanceUID", "Modality")
INSTANCE_KEYS = (*SERIES_KEYS, "SOPInstanceUID")
MATCH_KEYS: Mapping[str, tuple[str, ...]] = {
    "studies": STUDY_KEYS,
    "series": SERIES_KEYS,
    "instances": INSTANCE_KEYS,
}

STUDY_ATTRIBUTES = (
    "SpecificCharacterSet",
    "StudyDate",
    "StudyTime",
    "AccessionNumber",
    "InstanceAvailability",
    "ReferringPhysicianName",
    "TimezoneOffsetFromUTC",
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyInstanceUID",
    "StudyID",
    "StudyDescription",
)
SERIES_ATTRIBUTES = (
    "SpecificCharacterSet",
    "Modality",
    "TimezoneOffsetFromUTC",
    "SeriesDescription",
    "SeriesInstanceUID",
    "PerformedProcedureStepStartDate",
    "PerformedProcedureStepStartTime",
    "RequestAttributesSequence",
    "SeriesNumber",
)
INSTANCE_ATTRIBUTES = (
    "SpecificCharacterSet",
    "SOPClassUID",
    "SOPInstanceUID",
    "InstanceAvailability",
    "TimezoneOffsetFromUTC",
    "InstanceNumber",
    "Rows",
    "Columns",
    "BitsAllocated",
    "NumberOfFrames",
)
DEFAULT_LIMIT = {"studies": 100, "series": 100, "instances": 1000}
MAX_LIMIT = {"studies": 5000, "series": 5000, "instances": 50000}
MAX_OFFSET = 1_000_000
GOOGLE_STANDARD_PARAMS = frozenset(
    {"alt", "callback", "fields", "key", "oauth_token", "prettyPrint", "quotaUser"}
)
"""Query parameters every Google API accepts (discovery clients send `alt=json`)."""
CONTROL_PARAMS = (
    frozenset({"limit", "offset", "includefield", "fuzzymatching", "access_token"})
    | GOOGLE_STANDARD_PARAMS
)


def tag_of(key: str) -> str:
    """The 8-hex-digit tag for a keyword or tag string; raises 400 for neither."""
    candidate = key.strip()
    if len(candidate) == 8 and all(c in "0123456789abcdefABCDEF" for c in candidate):
        return candidate.upper()
    tag = tag_for_keyword(candidate)
    if tag is None:
        raise ApiError("INVALID_ARGUMENT", f"invalid QIDO-RS query key: {key!r}")
    return f"{tag:08X}"


def keyword_of(tag: str) -> str:
    return keyword_for_tag(int(tag, 16)) or tag


@dataclass(frozen=True)
class Query:
    level: str
    filters: tuple[tuple[str, str], ...]
    """(tag, value) pairs."""
    include: frozenset[str] | None
    """Extra tags to return; None means every attribute (`includefield=all`)."""
    limit: int
    offset: int
    fuzzy: bool


def parse_query(level: str, args: Iterable[tuple[str, str]]) -> Query:
    filters: list[tuple[str, str]] = []
    include: set[str] | None = set()
    limit = DEFAULT_LIMIT[level]
    offset = 0
    fuzzy = False
    allowed = {f"{tag_for_keyword(k):08X}" for k in MATCH_KEYS[level]}
    for name, value in args:
        if name == "limit":
            limit = _bounded_int(name, value, 1, MAX_LIMIT[level])
        elif name == "offset":
            offset = _bounded_int(name, value, 0, MAX_OFFSET)
        elif name == "fuzzymatching":
            fuzzy = value.lower() == "true"
        elif name == "includefield":
            for item in value.split(","):
                if item.strip().lower() == "all":
                    include = None
                elif include is not None and item.strip():
                    include.add(tag_of(item))
        elif name in CONTROL_PARAMS or name.startswith("$"):
            continue
        else:
            tag = tag_of(name)
            if tag not in allowed:
                raise ApiError(
                    "INVALID_ARGUMENT",
                    f"QIDO-RS query key {name} is not supported at the {level} level.",
                )
            filters.append((tag, value))
    return Query(
        level, tuple(filters), None if include is None else frozenset(include), limit, offset, fuzzy
    )


def _bounded_int(name: str, value: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ApiError("INVALID_ARGUMENT", f"invalid {name}: {value!r}") from None
    if not low <= number <= high:
        raise ApiError("INVALID_ARGUMENT", f"{name} must be between {low} and {high}.")
    return number


def first_value(element: Mapping[str, Any] | None) -> str:
    """The first value of a DICOM JSON element as a string (PN -> its Alphabetic form)."""
    if not element:
        return ""
    values = element.get("Value") or []
    if not values:
        return ""
    value = values[0]
    if isinstance(value, dict):
        return str(value.get("Alphabetic", ""))
    return str(value)


def matches(query: Query, attributes: Mapping[str, Any]) -> bool:
    for tag, wanted in query.filters:
        actual = first_value(attributes.get(tag))
        keyword = keyword_of(tag)
        if keyword == "StudyDate" and "-" in wanted:
            low, _, high = wanted.partition("-")
            if not actual or (low and actual < low) or (high and actual > high):
                return False
        elif keyword == "PatientName" and query.fuzzy:
            if not _fuzzy_name(wanted, actual):
                return False
        elif actual != wanted:
            return False
    return True


def _fuzzy_name(wanted: str, actual: str) -> bool:
    tokens = [t for t in actual.replace("^", " ").lower().split() if t]
    return all(
        any(token.startswith(part) for token in tokens)
        for part in wanted.replace("^", " ").lower().split()
    )


def select(
    attributes: Mapping[str, Any], level_attributes: Iterable[str], include: frozenset[str] | None
) -> dict[str, Any]:
    """The attributes a QIDO answer carries for one result."""
    if include is None:
        return dict(attributes)
    wanted = {f"{tag_for_keyword(k):08X}" for k in level_attributes} | include
    return {tag: value for tag, value in attributes.items() if tag in wanted}
