"""`dicomStores.deidentify`: copy a store's instances, de-identified, into another store.

What healthcare.v1.json says, and the emulator does: the destination dataset and DICOM store
must exist, and both datasets must be in the same location; the config comes inline (`config`)
or from Cloud Storage (`gcsConfigUri`, read as the Healthcare service agent), not both;
`filterConfig.resourcePathsGcsUri` limits the copy to the listed studies, series or instances.
The operation's metadata counts instances (`counter.success`, `counter.failure`) and its
response is the empty `DeidentifyDicomStoreSummary`. CMEK-encrypted data cannot be
de-identified (cloud.google.com/healthcare-api/docs/cmek).

`config.dicom` applies one tag filter (`keepList`, `removeList` or `filterProfile`):
* `keepList`: only the listed tags; `removeList`: all but the listed tags (tags by keyword, e.g.
  `PatientID`, or as 8 hex digits, `00100020`);
* `MINIMAL_KEEP_LIST_PROFILE`: only the tags a valid instance needs (`REQUIRED`);
* `ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE`: removes the identifying attributes of DICOM PS3.15
  Table E.1-1 that `BASIC_PROFILE` lists (a subset of the table: patient, people, institution,
  dates and free-text attributes) and every private tag;
* `DEIDENTIFY_TAG_CONTENTS`: Google inspects text values and replaces what is sensitive; the
  emulator does not inspect text: it blanks every person name (VR PN) and the patient
  identifiers of `IDENTIFIERS`;
* `KEEP_ALL_PROFILE` (also the default): keeps every tag.
Tags a valid instance needs are never removed. Unless `skipIdRedaction`, the Study, Series and
SOP Instance UIDs (and MediaStorageSOPInstanceUID) are replaced by `2.25.` UIDs derived from the
originals, the same for the same source UID and destination store. `image` (pixel redaction)
and `text` are accepted and not applied: pixels are copied as they are.

The method's and the response's proto names in the operation are inferred from the v1
discovery document (`DeidentifyDicomStoreSummary` lives in `...v1.deidentify`); unverified.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

import pydicom
from pydicom.datadict import tag_for_keyword

from provision.emulator.core.discovery import document
from provision.emulator.core.errors import ApiError, invalid_argument
from provision.emulator.core.shapes import Checker
from provision.emulator.core.world import World
from provision.emulator.dicomweb import instances
from provision.emulator.healthcare import models, resource_paths
from provision.emulator.storage import models as storage

METHOD = "google.cloud.healthcare.v1.dicom.DicomService.DeidentifyDicomStore"
RESPONSE_TYPE = (
    "type.googleapis.com/google.cloud.healthcare.v1.deidentify.DeidentifyDicomStoreSummary"
)
ACTION = "DeidentifyDicomStore"
STORE_NAME = re.compile(
    r"^projects/([^/]+)/locations/([^/]+)/datasets/([^/]+)/dicomStores/([^/]+)$"
)

REQUIRED = frozenset(
    {
        "SpecificCharacterSet",
        "SOPClassUID",
        "SOPInstanceUID",
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "Modality",
        "SamplesPerPixel",
        "PhotometricInterpretation",
        "PlanarConfiguration",
        "NumberOfFrames",
        "Rows",
        "Columns",
        "BitsAllocated",
        "BitsStored",
        "HighBit",
        "PixelRepresentation",
        "PixelData",
    }
)
"""Tags a stored instance needs (its identity and its pixel description)."""
IDENTIFIERS = frozenset(
    {"PatientID", "OtherPatientIDs", "IssuerOfPatientID", "MedicalRecordLocator", "AdmissionID"}
)
BASIC_PROFILE = frozenset(
    """
    AccessionNumber AcquisitionComments AcquisitionDate AcquisitionDateTime AcquisitionTime
    ActualHumanPerformersSequence AdditionalPatientHistory AdmissionID
    AdmittingDiagnosesDescription Allergies AuthorObserverSequence BranchOfService
    ContentCreatorName ContentDate ContentTime CountryOfResidence CurrentPatientLocation
    DerivationDescription DeviceSerialNumber DistributionAddress DistributionName EthnicGroup
    FrameComments HumanPerformerName HumanPerformerOrganization IconImageSequence ImageComments
    ImagingServiceRequestComments InstitutionAddress InstitutionalDepartmentName
    InstitutionName IssuerOfPatientID MedicalAlerts MedicalRecordLocator MilitaryRank
    NameOfPhysiciansReadingStudy Occupation OperatorsName OtherPatientIDs
    OtherPatientIDsSequence OtherPatientNames PatientAddress PatientAge PatientBirthDate
    PatientBirthName PatientBirthTime PatientComments PatientID PatientMotherBirthName
    PatientName PatientReligiousPreference PatientSex PatientSize PatientState
    PatientTelephoneNumbers PatientWeight PerformedLocation PerformedProcedureStepDescription
    PerformedProcedureStepID PerformedProcedureStepStartDate PerformedProcedureStepStartTime
    PerformedStationAETitle PerformedStationName PerformingPhysicianName PersonAddress
    PersonName PersonTelephoneNumbers PhysiciansOfRecord PregnancyStatus ProtocolName
    ReasonForStudy ReferencedPatientSequence ReferringPhysicianAddress ReferringPhysicianName
    ReferringPhysicianTelephoneNumbers RegionOfResidence RequestAttributesSequence
    RequestedProcedureDescription RequestedProcedureID RequestingPhysician RequestingService
    ResponsibleOrganization ResponsiblePerson SeriesDate SeriesDescription SeriesTime
    SmokingStatus SourceImageSequence SpecialNeeds StationName StudyComments StudyDate
    StudyDescription StudyID StudyTime TextComments VerifyingObserverName VerifyingOrganization
    VisitComments
    """.split()  # noqa: SIM905 (a list of 120 names, one per line, is harder to read)
)
"""Identifying attributes of DICOM PS3.15 Table E.1-1 (Basic Profile) that are removed."""


@dataclass(frozen=True)
class TagFilter:
    """What a `DicomConfig` does to each instance."""

    keep: frozenset[int] | None = None
    """Only these tags (and `REQUIRED`) stay; None keeps everything not removed."""
    remove: frozenset[int] = field(default_factory=frozenset)
    private: bool = False
    """Remove private tags too."""
    blank_names: bool = False
    """Blank person names and `IDENTIFIERS` (DEIDENTIFY_TAG_CONTENTS)."""
    new_uids: bool = True


def _tags(names: Any, where: str) -> frozenset[int]:
    tags = set()
    listed = (names.get("tags") if isinstance(names, dict) else None) or []
    for name in listed:
        if isinstance(name, str) and re.fullmatch(r"[0-9A-Fa-f]{8}", name):
            tags.add(int(name, 16))
        elif isinstance(name, str) and tag_for_keyword(name) is not None:
            tags.add(int(tag_for_keyword(name) or 0))
        else:
            raise invalid_argument(
                f'Invalid DICOM tag "{name}" in {where}: give a keyword or 8 hex digits.'
            )
    return frozenset(tags)


def _keywords(names: frozenset[str]) -> frozenset[int]:
    """The tags of DICOM keywords (every name in this module's lists is one)."""
    return frozenset(int(tag_for_keyword(name) or 0) for name in names)


def tag_filter(config: Mapping[str, Any]) -> TagFilter:
    """The filter of a `DicomConfig`; 400 for more than one of its tag filters or a bad tag."""
    chosen = [name for name in ("keepList", "removeList", "filterProfile") if config.get(name)]
    if len(chosen) > 1:
        # The proto's oneof refused as ESF refuses a second member of a oneof (unverified).
        raise invalid_argument(
            f"Invalid JSON payload received. Oneof field 'tag_filter' is already set. "
            f"Cannot set '{chosen[1]}'"
        )
    new_uids = not config.get("skipIdRedaction")
    profile = config.get("filterProfile") or "KEEP_ALL_PROFILE"
    if "keepList" in chosen:
        return TagFilter(keep=_tags(config["keepList"], "keepList"), new_uids=new_uids)
    if "removeList" in chosen:
        return TagFilter(remove=_tags(config["removeList"], "removeList"), new_uids=new_uids)
    if profile == "MINIMAL_KEEP_LIST_PROFILE":
        return TagFilter(keep=frozenset(), private=True, new_uids=new_uids)
    if profile == "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE":
        return TagFilter(remove=_keywords(BASIC_PROFILE), private=True, new_uids=new_uids)
    if profile == "DEIDENTIFY_TAG_CONTENTS":
        return TagFilter(blank_names=True, new_uids=new_uids)
    return TagFilter(new_uids=new_uids)


def new_uid(uid: str, salt: str) -> str:
    """A `2.25.` UID (a 128-bit number) derived from `uid` and `salt`."""
    digest = hashlib.sha256(f"{salt}|{uid}".encode()).digest()[:16]
    return f"2.25.{int.from_bytes(digest, 'big')}"


def apply(data: bytes, rules: TagFilter, salt: str) -> bytes:
    """The de-identified DICOM file (raises ValueError when `data` cannot be read)."""
    dataset = instances.parse(data)
    required = _keywords(REQUIRED)
    for element in list(dataset):
        tag = int(element.tag)
        if tag in required:
            continue
        dropped = (rules.keep is not None and tag not in rules.keep) or tag in rules.remove
        if dropped or (rules.private and element.tag.is_private):
            del dataset[element.tag]
    if rules.blank_names:
        _blank(dataset)
    if rules.new_uids:
        for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
            setattr(dataset, keyword, new_uid(str(getattr(dataset, keyword)), salt))
        if hasattr(dataset, "file_meta"):
            dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    buffer = BytesIO()
    pydicom.dcmwrite(buffer, dataset, enforce_file_format=hasattr(dataset, "file_meta"))
    return buffer.getvalue()


def _blank(dataset: pydicom.Dataset) -> None:
    identifiers = _keywords(IDENTIFIERS)
    for element in dataset.iterall():
        if element.VR == "PN" or int(element.tag) in identifiers:
            element.value = ""


# ----- the request


def destination(world: World, source: str, name: Any) -> str:
    """The destination store's canonical name (project ID); 400 when it is malformed, the
    source itself or in another location."""
    found = STORE_NAME.match(name) if isinstance(name, str) else None
    if found is None:
        raise invalid_argument(
            f'Invalid destinationStore "{name}": expected projects/{{project_id}}/locations/'
            "{location_id}/datasets/{dataset_id}/dicomStores/{dicom_store_id}."
        )
    project = world.require_service(found[1], models.SERVICE, domain=models.SERVICE)
    canonical = f"projects/{project['projectId']}/" + str(name).split("/", 2)[2]
    if canonical == source:
        raise invalid_argument("The destination store must not be the source store.")
    if found[2] != source.split("/")[3]:
        raise invalid_argument(
            "The source dataset and destination dataset must both reside in the same location."
        )
    return canonical


def config_of(
    world: World, project: dict[str, Any], body: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The request's DeidentifyConfig (inline or read from `gcsConfigUri`), or (nothing, rpc
    error) when the agent cannot read it."""
    inline, uri = body.get("config"), body.get("gcsConfigUri")
    if inline and uri:
        raise invalid_argument("Only one of config and gcs_config_uri can be specified.")
    if not uri:
        return dict(inline or {}), None
    bucket_name, _, object_name = str(uri).removeprefix("gs://").partition("/")
    bucket = storage.find_bucket(world, bucket_name)
    agent = f"serviceAccount:{world.service_agent_email(project['number'], models.SERVICE)}"
    if bucket is None or not storage.member_can_read_objects(world, bucket, agent):
        return {}, {"code": 7, "message": models.STORAGE_PERMISSION_MESSAGE}
    try:
        config = json.loads(storage.read_object(world, bucket_name, object_name) or b"null")
    except ValueError:
        raise invalid_argument(f"The config at {uri} is not JSON.") from None
    doc = document("healthcare", "v1")
    assert doc is not None
    checker = Checker(doc.schemas, reading="request", proto_names=True)
    if not isinstance(config, dict) or checker.check(config, "DeidentifyConfig"):
        raise invalid_argument(f"The config at {uri} is not a DeidentifyConfig.")
    return dict(checker.canonical(config, "DeidentifyConfig")), None


def run(
    world: World, source: str, target: str, rules: TagFilter, selected: resource_paths.Selector
) -> dict[str, int]:
    """Copy the selected instances of `source` into `target`, de-identified; the counter."""
    success = failure = 0
    for record in instances.find(world, source):
        if not selected(record):
            continue
        try:
            copied = apply(instances.data(world, source, record), rules, target)
        except (ValueError, TypeError, AttributeError):
            failure += 1
            continue
        result = instances.put_instance(world, target, copied, action=ACTION)
        if result.outcome in (instances.Outcome.STORED, instances.Outcome.DUPLICATE):
            success += 1
        else:
            failure += 1
    return {"success": success, "failure": failure}


def refuse_encrypted(dataset: Mapping[str, Any]) -> None:
    if (dataset.get("encryptionSpec") or {}).get("kmsKeyName"):
        raise ApiError(
            "FAILED_PRECONDITION",
            f"Dataset {dataset['name']} is encrypted with a customer-managed key: CMEK-encrypted "
            "resources cannot be de-identified.",
        )
