"""Cloud Healthcare v1 admin state and rules: locations, datasets, DICOM stores, their IAM
policies, dataset-scoped operations, and DICOM imports from the emulator's Cloud Storage.

Collections (key in parentheses): `datasets`, `dicom_stores` and `other_stores` (FHIR, HL7v2 and
consent stores; full resource name with the project ID, e.g.
`projects/p/locations/l/datasets/d/dicomStores/s`). Instances live in the
collection owned by `provision.emulator.dicomweb.instances`, which imports share with STOW-RS.
Policies use the shared policies collection under the resource name.
"""

from __future__ import annotations

import copy
import functools
import re
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from provision.emulator.core import iam, lro
from provision.emulator.core.errors import ApiError, invalid_argument
from provision.emulator.core.world import OPERATIONS, World
from provision.emulator.dicomweb import instances
from provision.emulator.storage import models as storage

SERVICE = "healthcare.googleapis.com"
DATASETS = "datasets"
DICOM_STORES = "dicom_stores"
OTHER_STORES = "other_stores"

LOCATIONS: tuple[str, ...] = (
    "northamerica-northeast1",
    "northamerica-northeast2",
    "us-central1",
    "us-east1",
    "us-east4",
    "us-west1",
    "us-west2",
    "us-west3",
    "southamerica-east1",
    "asia-east1",
    "asia-east2",
    "asia-northeast1",
    "asia-northeast2",
    "asia-northeast3",
    "asia-south1",
    "asia-southeast1",
    "asia-southeast2",
    "australia-southeast1",
    "australia-southeast2",
    "europe-north1",
    "europe-west2",
    "europe-west3",
    "europe-west4",
    "europe-west6",
    "me-west1",
    "me-central1",
    "me-central2",
    "us",
    "eu",
)
"""The regions of healthcare-api/docs/requirements ("Only these ... are available")."""

METADATA_TYPE = "type.googleapis.com/google.cloud.healthcare.v1.OperationMetadata"
DATASET_TYPE = "type.googleapis.com/google.cloud.healthcare.v1.dataset.Dataset"
IMPORT_RESPONSE_TYPE = (
    "type.googleapis.com/google.cloud.healthcare.v1.dicom.ImportDicomDataResponse"
)
CREATE_DATASET_METHOD = "google.cloud.healthcare.v1.dataset.DatasetService.CreateDataset"
IMPORT_METHOD = "google.cloud.healthcare.v1.dicom.DicomService.ImportDicomData"
STORAGE_PERMISSION_MESSAGE = (
    "Healthcare API doesn't have required Cloud Storage permission. See "
    "https://cloud.google.com/healthcare/docs/how-tos/permissions-healthcare-api-gcp-products "
    "for more information"
)

DATASET_FIELDS = frozenset({"name", "timeZone", "encryptionSpec", "satisfiesPzs", "satisfiesPzi"})
DATASET_MUTABLE = frozenset({"timeZone"})
STORE_FIELDS = frozenset(
    {"name", "labels", "notificationConfig", "notificationConfigs", "streamConfigs"}
)
STORE_MUTABLE = frozenset({"labels", "notificationConfig", "notificationConfigs", "streamConfigs"})
DICOM_NOTIFICATION_FIELDS = frozenset({"pubsubTopic"})
"""healthcare.v1.json `DicomNotificationConfig`: an item of `notificationConfigs` has only a
topic (`sendForBulkImport` exists only on the deprecated single `NotificationConfig`)."""
NOT_COMPATIBLE = (
    "NotificationConfig and NotificationConfigs are not compatible. NotificationConfig is being "
    "deprecated, please use NotificationConfigs instead"
)
_TOPIC = re.compile(r"^projects/[^/]+/topics/[^/]+$")


@dataclass(frozen=True)
class StoreType:
    """A store type the emulator holds but does not serve data for: FHIR, HL7v2, consent."""

    segment: str
    """The collection in the resource name and the list answer's key (`fhirStores`)."""
    kind: str
    """How messages name it (`FHIR store`)."""
    message: str
    """The proto message name, for unknown-field errors (`fhir_store`)."""
    fields: frozenset[str]
    """The fields of the v1 resource (discovery `FhirStore`, ...)."""


FHIR_FIELDS = frozenset(
    [
        "name",
        "version",
        "labels",
        "bulkExportGcsDestination",
        "complexDataTypeReferenceParsing",
        "consentConfig",
        "defaultSearchHandlingStrict",
        "disableReferentialIntegrity",
        "disableResourceVersioning",
        "enableUpdateCreate",
        "notificationConfig",
        "notificationConfigs",
        "streamConfigs",
        "validationConfig",
    ]
)
STORE_TYPES: dict[str, StoreType] = {
    t.segment: t
    for t in (
        StoreType("fhirStores", "FHIR store", "fhir_store", FHIR_FIELDS),
        StoreType(
            "hl7V2Stores",
            "HL7v2 store",
            "hl7_v2_store",
            frozenset(
                {"name", "labels", "notificationConfigs", "parserConfig", "rejectDuplicateMessage"}
            ),
        ),
        StoreType(
            "consentStores",
            "consent store",
            "consent_store",
            frozenset({"name", "labels", "defaultConsentTtl", "enableConsentCreateOnUpdate"}),
        ),
    )
}
"""Keyed by name segment. Only their existence matters here (a dataset holding one is not
empty); their contents (FHIR resources, HL7v2 messages, consents) are not emulated."""
FHIR_VERSIONS = frozenset({"DSTU2", "STU3", "R4", "R5"})


# ----- names and validation


def valid_id(value: str) -> bool:
    """`[\\p{L}\\p{N}_\\-\\.]{1,256}`: Unicode letters and digits, `_`, `-`, `.`."""
    return 1 <= len(value) <= 256 and all(c.isalpha() or c.isnumeric() or c in "_-." for c in value)


def check_id(value: str | None, field: str, kind: str) -> str:
    if not value:
        raise invalid_argument(f"{field} is required.")
    if not valid_id(value):
        raise invalid_argument(
            f'Invalid {kind} ID "{value}": it must be 1-256 characters of letters, digits, '
            "'_', '-' and '.'."
        )
    return value


def check_location(location: str) -> None:
    if location not in LOCATIONS:
        raise invalid_argument(
            f"Location '{location}' is not supported by the Cloud Healthcare API."
        )


@functools.cache
def _zone_data_available() -> bool:
    """Validation needs the IANA database; without it (a bare container) any name passes."""
    return bool(zoneinfo.available_timezones())


def check_time_zone(value: Any) -> str:
    """An IANA time zone name (empty means UTC)."""
    if not isinstance(value, str):
        raise invalid_argument("timeZone must be a string.")
    if value and _zone_data_available():
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise invalid_argument(f'Invalid time zone "{value}".') from None
    return value


def reject_unknown_fields(body: Mapping[str, Any], known: frozenset[str], where: str) -> None:
    """ESF refuses JSON fields the message does not have, naming the first one."""
    for key in body:
        if key not in known:
            raise invalid_argument(
                f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': "
                "Cannot find field."
            )


def check_store_labels(labels: Any) -> dict[str, str]:
    """DicomStore label rules: <= 64; key `[\\p{Ll}\\p{Lo}][\\p{Ll}\\p{Lo}\\p{N}_-]{0,62}`,
    value `[\\p{Ll}\\p{Lo}\\p{N}_-]{0,63}`, each <= 128 UTF-8 bytes."""
    if labels is None:
        return {}
    if not isinstance(labels, dict):
        raise invalid_argument("labels must be a map of strings.")
    if len(labels) > 64:
        raise invalid_argument("A DICOM store can have at most 64 labels.")

    def lower_or_other(c: str) -> bool:
        return c.islower() or (c.isalpha() and not c.isupper() and not c.istitle())

    for key, value in labels.items():
        if not isinstance(value, str):
            raise invalid_argument(f'Invalid label value for key "{key}".')
        key_ok = (
            1 <= len(key) <= 63
            and len(key.encode()) <= 128
            and lower_or_other(key[0])
            and all(lower_or_other(c) or c.isnumeric() or c in "_-" for c in key)
        )
        if not key_ok:
            raise invalid_argument(f'Invalid label key "{key}".')
        value_ok = (
            len(value) <= 63
            and len(value.encode()) <= 128
            and all(lower_or_other(c) or c.isnumeric() or c in "_-" for c in value)
        )
        if not value_ok:
            raise invalid_argument(f'Invalid label value "{value}" for key "{key}".')
    return dict(labels)


def _check_store_body(body: Mapping[str, Any]) -> dict[str, Any]:
    reject_unknown_fields(body, STORE_FIELDS, "dicom_store")
    out: dict[str, Any] = {}
    if body.get("labels"):
        out["labels"] = check_store_labels(body["labels"])
    if body.get("notificationConfig") and body.get("notificationConfigs"):
        # Google's answer to a body setting both (reported against the Terraform provider,
        # terraform-google-healthcare issue 126). Whether an empty `notificationConfig: {}`
        # alongside a list counts as setting it is not known; here it does not.
        raise invalid_argument(NOT_COMPATIBLE)
    configs: list[Any] = []
    if body.get("notificationConfig"):
        configs.append(body["notificationConfig"])
        out["notificationConfig"] = copy.deepcopy(body["notificationConfig"])
    if body.get("notificationConfigs"):
        configs.extend(body["notificationConfigs"])
        out["notificationConfigs"] = copy.deepcopy(body["notificationConfigs"])
        for index, item in enumerate(body["notificationConfigs"]):
            if isinstance(item, dict):
                where = f"dicom_store.notification_configs[{index}]"
                reject_unknown_fields(item, DICOM_NOTIFICATION_FIELDS, where)
    for config in configs:
        topic = config.get("pubsubTopic", "") if isinstance(config, dict) else None
        if topic and not _TOPIC.match(topic):
            raise invalid_argument(
                f'Invalid Pub/Sub topic "{topic}": expected projects/{{project}}/topics/{{topic}}.'
            )
    if body.get("streamConfigs"):
        out["streamConfigs"] = copy.deepcopy(body["streamConfigs"])
    return out


def parse_update_mask(mask: str | None, mutable: frozenset[str], kind: str) -> list[str]:
    if not mask:
        raise invalid_argument("updateMask is required.")
    paths = [path.strip() for path in mask.split(",") if path.strip()]
    for path in paths:
        top = path.split(".")[0]
        if top not in mutable:
            raise invalid_argument(f'The update mask path "{path}" is not mutable on a {kind}.')
    return paths


def not_found(kind: str, name: str) -> ApiError:
    """Healthcare's 404 (message text unverified; kept simple)."""
    return ApiError("NOT_FOUND", f"{kind} {name} not found.")


# ----- the resource tree


class Names:
    """A request's resource names: `canonical` uses the project ID (storage keys); `shown`
    echoes the project as the caller wrote it, as Healthcare does."""

    def __init__(self, world: World, project: dict[str, Any], given_project: str) -> None:
        self.world = world
        self.project = project
        self.given = given_project

    def canonical(self, path: str) -> str:
        return f"projects/{self.project['projectId']}/{path}"

    def shown(self, canonical: str) -> str:
        return "projects/" + self.given + canonical[len("projects/" + self.project["projectId"]) :]


def render(record: dict[str, Any], names: Names) -> dict[str, Any]:
    """The resource as Google shows it. It shares nested values with `record`, which must be the
    caller's own copy (as every `Store.get` returns) and not change afterwards."""
    out = {key: value for key, value in record.items() if not key.startswith("_")}
    out["name"] = names.shown(record["name"])
    return out


def find_dataset(world: World, name: str) -> dict[str, Any] | None:
    return world.store.get(DATASETS, name)


def require_dataset(world: World, name: str, *, initialized: bool = True) -> dict[str, Any]:
    """The dataset; 404 when missing or (with `initialized`) still initializing."""
    dataset = find_dataset(world, name)
    if dataset is None:
        raise not_found("Dataset", name)
    if initialized and world.now() < float(dataset["_created"]) + world.settings.dataset_init_s:
        raise ApiError("NOT_FOUND", "dataset not initialized")
    return dataset


def check_new_dataset(world: World, name: str, body: Mapping[str, Any]) -> None:
    """The refusals of a dataset create that come before its encryption key is looked at."""
    reject_unknown_fields(body, DATASET_FIELDS, "dataset")
    if find_dataset(world, name) is not None:
        raise ApiError("ALREADY_EXISTS", "already exists")


def create_dataset(world: World, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
    check_new_dataset(world, name, body)
    record: dict[str, Any] = {"name": name, "_created": world.now()}
    if body.get("timeZone"):
        record["timeZone"] = check_time_zone(body["timeZone"])
    if body.get("encryptionSpec"):
        record["encryptionSpec"] = copy.deepcopy(body["encryptionSpec"])
    world.store.put(DATASETS, name, record)
    return record


def patch_dataset(
    world: World, dataset: dict[str, Any], body: Mapping[str, Any], mask: str | None
) -> dict[str, Any]:
    reject_unknown_fields(body, DATASET_FIELDS, "dataset")
    paths = parse_update_mask(mask, DATASET_MUTABLE, "dataset")
    record = copy.deepcopy(dataset)
    if "timeZone" in paths:
        if body.get("timeZone"):
            record["timeZone"] = check_time_zone(body["timeZone"])
        else:
            record.pop("timeZone", None)
    world.store.put(DATASETS, record["name"], record)
    return record


def delete_dataset(world: World, name: str) -> None:
    """Delete the dataset and everything in it: stores, instances, policies, operations."""
    for store in world.store.values(DICOM_STORES, f"{name}/"):
        delete_store(world, store["name"])
    for key, _ in world.store.items(OTHER_STORES, f"{name}/"):
        delete_other_store(world, key)
    for key, _ in world.store.items(OPERATIONS, f"{name}/operations/"):
        world.store.delete(OPERATIONS, key)
    iam.delete_policy(world, name)
    world.store.delete(DATASETS, name)


def list_datasets(world: World, location_name: str) -> list[dict[str, Any]]:
    prefix = f"{location_name}/datasets/"
    return [d for d in world.store.values(DATASETS, prefix) if "/" not in d["name"][len(prefix) :]]


def find_store(world: World, name: str) -> dict[str, Any] | None:
    return world.store.get(DICOM_STORES, name)


def require_store(world: World, name: str) -> dict[str, Any]:
    store = find_store(world, name)
    if store is None:
        raise not_found("DICOM store", name)
    return store


def create_store(world: World, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
    fields = _check_store_body(body)
    if find_store(world, name) is not None:
        raise ApiError("ALREADY_EXISTS", "already exists")
    record = {"name": name, **fields}
    world.store.put(DICOM_STORES, name, record)
    return record


def patch_store(
    world: World, store: dict[str, Any], body: Mapping[str, Any], mask: str | None
) -> dict[str, Any]:
    paths = parse_update_mask(mask, STORE_MUTABLE, "DICOM store")
    fields = _check_store_body(body)
    # Only the body is checked for both notification fields: a patch setting just the list on a
    # store that keeps its `notificationConfig` is taken (what Google does then is not known).
    record = copy.deepcopy(store)
    for path in paths:
        top = path.split(".")[0]
        if top == "labels" and "." in path:
            key = path.split(".", 1)[1]
            labels = dict(record.get("labels") or {})
            if key in fields.get("labels", {}):
                labels[key] = fields["labels"][key]
            else:
                labels.pop(key, None)
            record["labels"] = labels
        elif top in fields:
            record[top] = fields[top]
        else:
            record.pop(top, None)
    if not record.get("labels"):
        record.pop("labels", None)
    world.store.put(DICOM_STORES, record["name"], record)
    return record


def delete_store(world: World, name: str) -> None:
    instances.delete_store(world, name)
    iam.delete_policy(world, name)
    world.store.delete(DICOM_STORES, name)


def list_stores(world: World, dataset_name: str, label_filter: str | None) -> list[dict[str, Any]]:
    prefix = f"{dataset_name}/dicomStores/"
    stores = world.store.values(DICOM_STORES, prefix)
    if label_filter:
        match = compile_label_filter(label_filter)
        stores = [store for store in stores if match(store.get("labels") or {})]
    return stores


def create_other_store(
    world: World, store_type: StoreType, name: str, body: Mapping[str, Any]
) -> dict[str, Any]:
    """A FHIR, HL7v2 or consent store (synchronous, like a DICOM store). A FHIR store needs a
    `version` (Google: "Version is required for every FHIR store"; the 400 text is unverified)."""
    reject_unknown_fields(body, store_type.fields, store_type.message)
    if store_type.segment == "fhirStores" and body.get("version") not in FHIR_VERSIONS:
        raise invalid_argument(f"version is required: one of {', '.join(sorted(FHIR_VERSIONS))}.")
    if find_other_store(world, name) is not None:
        raise ApiError("ALREADY_EXISTS", "already exists")
    record = {**copy.deepcopy(dict(body)), "name": name}
    if body.get("labels"):
        record["labels"] = check_store_labels(body["labels"])
    world.store.put(OTHER_STORES, name, record)
    return record


def find_other_store(world: World, name: str) -> dict[str, Any] | None:
    return world.store.get(OTHER_STORES, name)


def require_other_store(world: World, store_type: StoreType, name: str) -> dict[str, Any]:
    store = find_other_store(world, name)
    if store is None:
        raise not_found(store_type.kind, name)
    return store


def delete_other_store(world: World, name: str) -> None:
    iam.delete_policy(world, name)
    world.store.delete(OTHER_STORES, name)


def list_other_stores(
    world: World, store_type: StoreType, dataset_name: str, label_filter: str | None
) -> list[dict[str, Any]]:
    """The dataset's stores of one type; `filter` is supported on labels only (as for DICOM
    stores), anything else is a 400."""
    stores = world.store.values(OTHER_STORES, f"{dataset_name}/{store_type.segment}/")
    if label_filter:
        match = compile_label_filter(label_filter)
        stores = [store for store in stores if match(store.get("labels") or {})]
    return stores


_LABEL_TERM = re.compile(
    r"""^\s*(NOT\s+)?labels\.("?)([^\s="':]+)\2\s*(=|:)\s*(?:"([^"]*)"|([^\s"]+))\s*$"""
)


def compile_label_filter(text: str) -> Callable[[Mapping[str, str]], bool]:
    """Filters on labels: `labels.k=v`, `labels."k"="v"`, `labels.k:*`, joined by AND / OR,
    each optionally preceded by NOT. Anything else is a 400."""
    disjuncts = [part for part in re.split(r"\s+OR\s+", text.strip()) if part]
    parsed: list[list[tuple[bool, str, str, str]]] = []
    for disjunct in disjuncts:
        terms = []
        for term in re.split(r"\s+AND\s+", disjunct):
            found = _LABEL_TERM.match(term)
            if found is None:
                raise invalid_argument(f"Invalid filter: {text}")
            negate, _, key, op, quoted, bare = found.groups()
            terms.append((bool(negate), key, op, quoted if quoted is not None else bare))
        parsed.append(terms)

    def term_holds(labels: Mapping[str, str], key: str, op: str, value: str) -> bool:
        if op == ":" and value == "*":
            return key in labels
        return key in labels and labels[key] == value

    def matches(labels: Mapping[str, str]) -> bool:
        return any(
            all(term_holds(labels, key, op, value) != negate for negate, key, op, value in terms)
            for terms in parsed
        )

    return matches


# ----- operations


def operation_metadata(world: World, method: str, created: str, **counter: int) -> dict[str, Any]:
    """OperationMetadata; zero counters are left out as proto3 JSON does (int64 as strings)."""
    return {
        "@type": METADATA_TYPE,
        "apiMethodName": method,
        "createTime": created,
        "endTime": world.now_rfc3339(),
        "logsUrl": "https://console.cloud.google.com/logs/query",
        "counter": {key: str(value) for key, value in counter.items() if value},
    }


RPC_CODES: Mapping[str, int] = {
    "INVALID_ARGUMENT": 3,
    "NOT_FOUND": 5,
    "PERMISSION_DENIED": 7,
    "FAILED_PRECONDITION": 9,
}
"""google.rpc.Code numbers of the refusals an operation can end with."""


def rpc_status(error: ApiError) -> dict[str, Any]:
    """`error` as a finished operation's `error` (a google.rpc.Status)."""
    return {"code": RPC_CODES.get(error.status, 2), "message": error.message}


def new_operation_name(world: World, dataset_name: str) -> str:
    return f"{dataset_name}/operations/{world.ids.digits(19)}"


def render_operation(operation: dict[str, Any], names: Names) -> dict[str, Any]:
    out = copy.deepcopy(operation)
    out["name"] = names.shown(operation["name"])
    response = out.get("response")
    if isinstance(response, dict) and isinstance(response.get("name"), str):
        response["name"] = names.shown(response["name"])
    return out


_DONE_FILTER = re.compile(r"^\s*done\s*=\s*(true|false)\s*$", re.IGNORECASE)


def list_operations(
    world: World, dataset_name: str, filter_text: str | None
) -> list[dict[str, Any]]:
    operations = lro.list_under(world, f"{dataset_name}/operations/")
    if filter_text:
        found = _DONE_FILTER.match(filter_text)
        if found is None:
            raise invalid_argument(f"Invalid filter: {filter_text}")
        want = found.group(1).lower() == "true"
        operations = [op for op in operations if bool(op.get("done")) == want]
    return operations


# ----- import


def check_import_uri(uri: Any) -> tuple[str, str]:
    """Split and validate a `gs://bucket/object` source with its wildcard rules."""
    if not isinstance(uri, str) or not uri.startswith("gs://"):
        raise invalid_argument(f'Invalid GCS URI "{uri}": it must start with gs://.')
    bucket, slash, pattern = uri.removeprefix("gs://").partition("/")
    if not bucket or not slash or not pattern:
        raise invalid_argument(
            f'Invalid GCS URI "{uri}": expected gs://{{bucket_id}}/{{object_id}}.'
        )
    if "**" in pattern:
        where = pattern.index("**")
        rest = pattern[where + 2 :]
        before = pattern[:where]
        if "/" in rest or any(c in rest + before for c in "*?"):
            raise invalid_argument(
                f'Invalid GCS URI "{uri}": "**" must be at the end of the path and used '
                "with no other wildcards."
            )
    return bucket, pattern


def uri_regex(pattern: str) -> re.Pattern[str]:
    """`*`: 0+ non-separator characters; `?`: one character; `**`: 0+ of anything."""
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
            continue
        c = pattern[i]
        out += "[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c)
        i += 1
    return re.compile(f"^{out}$", re.DOTALL)


def storage_class(value: Any) -> str:
    """A `BlobStorageSettings.blobStorageClass` to store instances in (unspecified: STANDARD)."""
    return str(value) if value and value != "BLOB_STORAGE_CLASS_UNSPECIFIED" else "STANDARD"


def run_import(
    world: World,
    store_name: str,
    project: dict[str, Any],
    uri: str,
    failure_code: int,
    storage_class: str = "STANDARD",
) -> tuple[dict[str, int], dict[str, Any] | None]:
    """Import the objects `uri` matches into the store now, in `storage_class`; returns
    (counter, rpc error)."""
    bucket_name, pattern = check_import_uri(uri)
    bucket = storage.find_bucket(world, bucket_name)
    agent = world.service_agent_email(project["number"], SERVICE)
    permitted = (
        bucket is not None
        and agent is not None
        and world.service_account(agent) is not None
        and storage.member_can_read_objects(world, bucket, f"serviceAccount:{agent}")
    )
    if not permitted or bucket is None:
        return {}, {"code": 7, "message": STORAGE_PERMISSION_MESSAGE}
    regex = uri_regex(pattern)
    names = [name for name in storage.list_object_names(world, bucket_name) if regex.match(name)]
    if not names:
        return {}, {"code": 5, "message": f"No files found matching {uri}."}
    success = failure = 0
    problems: list[str] = []
    for name in names:
        data = storage.read_object(world, bucket_name, name)
        result = instances.put_instance(
            world, store_name, data, action="ImportDicomData", storage_class=storage_class
        )
        if result.outcome in (instances.Outcome.STORED, instances.Outcome.DUPLICATE):
            success += 1
        else:
            failure += 1
            problems.append(f"gs://{bucket_name}/{name}: {result.detail}")
    counter = {"success": success, "failure": failure}
    if failure:
        message = (
            f"{failure} of {len(names)} files failed to import; see Cloud Logging for details. "
            f"First error: {problems[0]}"
        )
        return counter, {"code": failure_code, "message": message}
    return counter, None
