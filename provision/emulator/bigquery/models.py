"""BigQuery v2 state and rules, a minimal surface: datasets with their `access[]` entries (how
BigQuery grants roles on a dataset), tables, and the rows streamed into them.

Collections: `bq_datasets` (key `{projectId}:{datasetId}`), `bq_tables` (key
`{projectId}:{datasetId}.{tableId}`) and `bq_rows` (key `{table key}/{sequence}`). Each access
entry's grant time is kept (`_grantedAt`) so that `iam_effect_delay_s` applies to it as to IAM
bindings.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import re
from collections.abc import Mapping
from typing import Any

from provision.emulator.core import iam
from provision.emulator.core.errors import ApiError
from provision.emulator.core.world import World, project_policy_name

SERVICE = "bigquery.googleapis.com"
DATASETS = "bq_datasets"
TABLES = "bq_tables"
ROWS = "bq_rows"

DATASET_ID = re.compile(r"^[A-Za-z0-9_]{1,1024}$")
TABLE_ID = re.compile(r"^[\w\-]{1,1024}$")
DATASET_WRITABLE = frozenset(
    {
        "access",
        "defaultCollation",
        "defaultEncryptionConfiguration",
        "defaultPartitionExpirationMs",
        "defaultRoundingMode",
        "defaultTableExpirationMs",
        "description",
        "friendlyName",
        "isCaseInsensitive",
        "labels",
        "location",
        "maxTimeTravelHours",
        "resourceTags",
        "storageBillingModel",
    }
)
TABLE_WRITABLE = frozenset(
    {
        "clustering",
        "description",
        "encryptionConfiguration",
        "expirationTime",
        "friendlyName",
        "labels",
        "rangePartitioning",
        "requirePartitionFilter",
        "schema",
        "timePartitioning",
    }
)
LEGACY_ROLES: Mapping[str, str] = {
    "roles/bigquery.dataOwner": "OWNER",
    "roles/bigquery.dataEditor": "WRITER",
    "roles/bigquery.dataViewer": "READER",
}
"""Dataset.access[].role: "will accept any of the above formats, but will return only the
legacy format" (bigquery.v2.json)."""
MEMBER_FIELDS = (
    "userByEmail",
    "groupByEmail",
    "domain",
    "specialGroup",
    "iamMember",
    "view",
    "routine",
    "dataset",
)
EDITORS = frozenset({"WRITER", "OWNER"})
PROJECT_EDITORS = frozenset(
    {
        "roles/bigquery.dataEditor",
        "roles/bigquery.dataOwner",
        "roles/bigquery.admin",
        "roles/editor",
        "roles/owner",
    }
)
"""Project roles that hold `bigquery.tables.create` and `bigquery.tables.updateData` on every
dataset of the project."""
DEFAULT_TIME_TRAVEL_HOURS = "168"


def error(status: str, message: str, reason: str) -> ApiError:
    """BigQuery's envelope: `status` and the legacy `errors[]` with its own reasons."""
    return ApiError(status, message, legacy_reason=reason)


def invalid(message: str) -> ApiError:
    return error("INVALID_ARGUMENT", message, "invalid")


def dataset_key(project_id: str, dataset_id: str) -> str:
    return f"{project_id}:{dataset_id}"


def table_key(project_id: str, dataset_id: str, table_id: str) -> str:
    return f"{project_id}:{dataset_id}.{table_id}"


def base64_etag(world: World) -> str:
    return base64.b64encode(bytes.fromhex(world.ids.hex(16))).decode()


def _millis(world: World) -> str:
    return str(int(world.now() * 1000))


# ----- datasets


def find_dataset(world: World, project_id: str, dataset_id: str) -> dict[str, Any] | None:
    return world.store.get(DATASETS, dataset_key(project_id, dataset_id))


def require_dataset(world: World, project_id: str, dataset_id: str) -> dict[str, Any]:
    dataset = find_dataset(world, project_id, dataset_id)
    if dataset is None:
        raise error("NOT_FOUND", f"Not found: Dataset {project_id}:{dataset_id}", "notFound")
    return dataset


def _location(value: Any) -> str:
    text = str(value or "US")
    return text.upper() if text.lower() in ("us", "eu") else text


def _default_access(world: World) -> list[dict[str, str]]:
    """What BigQuery grants on a dataset created without `access` (golden KCC bigquerydataset)."""
    access = [
        {"role": "WRITER", "specialGroup": "projectWriters"},
        {"role": "OWNER", "specialGroup": "projectOwners"},
    ]
    caller = world.settings.caller
    if ":" in caller:
        access.append({"role": "OWNER", "userByEmail": caller.split(":", 1)[1]})
    access.append({"role": "READER", "specialGroup": "projectReaders"})
    return access


def _member(entry: Mapping[str, Any]) -> str:
    """The IAM member an access entry names (`serviceAccount:` for service account emails)."""
    if "userByEmail" in entry:
        email = str(entry["userByEmail"])
        kind = "serviceAccount" if email.endswith(".gserviceaccount.com") else "user"
        return f"{kind}:{email}"
    if "groupByEmail" in entry:
        return f"group:{entry['groupByEmail']}"
    if "domain" in entry:
        return f"domain:{entry['domain']}"
    if "iamMember" in entry:
        return str(entry["iamMember"])
    return str(entry.get("specialGroup") or "")


def _check_access(world: World, access: Any, where: str) -> list[dict[str, Any]]:
    """Access entries with legacy role names; one member field each; service accounts exist."""
    if not isinstance(access, list):
        raise invalid("access must be a list of access entries.")
    entries = []
    for entry in access:
        members = [field for field in MEMBER_FIELDS if entry.get(field)]
        if len(members) != 1:
            raise invalid(f"Each access entry of Dataset {where} names exactly one grantee.")
        role = entry.get("role")
        named = isinstance(role, str) and (role in EDITORS | {"READER"} or "roles/" in role)
        if members[0] not in ("view", "routine", "dataset") and not named:
            raise invalid(f"Invalid role {role!r} in an access entry of Dataset {where}.")
        member = _member(entry)
        email = member.removeprefix("serviceAccount:")
        if member.startswith("serviceAccount:") and world.service_account(email) is None:
            # The text BigQuery answers here is not recorded; IAM's "does not exist" stands in.
            raise invalid(
                f"IAM setPolicy failed for Dataset {where}: Service account {email} does not exist."
            )
        out = copy.deepcopy(dict(entry))
        if isinstance(role, str):
            out["role"] = LEGACY_ROLES.get(role, role)
        entries.append(out)
    return entries


def _grant_times(
    world: World, access: list[dict[str, Any]], before: Mapping[str, float]
) -> dict[str, float]:
    now = world.now()
    times = {}
    for entry in access:
        key = f"{entry.get('role')} {_member(entry)}"
        times[key] = float(before.get(key, now))
    return times


def insert_dataset(world: World, project_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
    reference = body.get("datasetReference") or {}
    dataset_id = str(reference.get("datasetId") or "")
    if not dataset_id:
        raise invalid("Required parameter is missing: datasetReference.datasetId")
    if not DATASET_ID.match(dataset_id):
        raise invalid(
            f'Invalid dataset ID "{dataset_id}". Dataset IDs must be alphanumeric (plus '
            "underscores) and must be at most 1024 characters long."
        )
    if reference.get("projectId") not in (None, "", project_id):
        raise invalid(f"The project in the dataset reference is not {project_id}.")
    key = dataset_key(project_id, dataset_id)
    if world.store.get(DATASETS, key) is not None:
        raise error("ALREADY_EXISTS", f"Already Exists: Dataset {key}", "duplicate")
    record = {k: copy.deepcopy(v) for k, v in body.items() if k in DATASET_WRITABLE}
    record["access"] = (
        _check_access(world, body["access"], key) if "access" in body else _default_access(world)
    )
    record["location"] = _location(body.get("location"))
    record["datasetReference"] = {"datasetId": dataset_id, "projectId": project_id}
    record["creationTime"] = record["lastModifiedTime"] = _millis(world)
    record["etag"] = base64_etag(world)
    record["_grantedAt"] = _grant_times(world, record["access"], {})
    world.store.put(DATASETS, key, record)
    return record


def update_dataset(
    world: World, dataset: dict[str, Any], body: Mapping[str, Any], *, replace: bool
) -> dict[str, Any]:
    """`patch` (only the fields given; labels merge, a null label value removes it) or
    `update` (`replace`: every writable field as given; `access` is kept when absent, which
    is *unverified*)."""
    reference = dataset["datasetReference"]
    key = dataset_key(reference["projectId"], reference["datasetId"])
    given = body.get("datasetReference") or {}
    if any(given.get(k) not in (None, "", reference[k]) for k in ("projectId", "datasetId")):
        raise invalid(f"The dataset reference does not name Dataset {key}.")
    record = copy.deepcopy(dataset)
    if replace:
        for field in DATASET_WRITABLE - {"access", "location"}:
            record.pop(field, None)
    for field, value in body.items():
        if field not in DATASET_WRITABLE or field == "location":
            continue
        if field == "access":
            record["access"] = _check_access(world, value, key)
        elif field == "labels" and not replace and isinstance(value, dict):
            labels = {**(record.get("labels") or {}), **value}
            record["labels"] = {k: v for k, v in labels.items() if v is not None}
        elif value is None:
            record.pop(field, None)
        else:
            record[field] = copy.deepcopy(value)
    if not record.get("labels"):
        record.pop("labels", None)
    record["_grantedAt"] = _grant_times(world, record["access"], dataset.get("_grantedAt") or {})
    record["lastModifiedTime"] = _millis(world)
    record["etag"] = base64_etag(world)
    world.store.put(DATASETS, key, record)
    return record


ACCESS_POLICY_VERSIONS = ("0", "1", "3")
"""`accessPolicyVersion`: "Valid values are 0, 1, and 3" (bigquery.v2.json)."""


def access_policy_version(value: str | None) -> int:
    """The request's `accessPolicyVersion` (0 when unset); 400 for any other than 0, 1, 3
    (BigQuery's text for it is not recorded; this one stands in)."""
    if value is None:
        return 0
    if value not in ACCESS_POLICY_VERSIONS:
        raise invalid(f"Invalid value for accessPolicyVersion: {value}. Valid values are 0, 1, 3.")
    return int(value)


def _conditional(access: Any) -> bool:
    return isinstance(access, list) and any(
        isinstance(e, Mapping) and e.get("condition") for e in access
    )


def check_access_write(dataset: Mapping[str, Any], body: Mapping[str, Any], version: int) -> None:
    """A write of `access` adding, keeping or removing conditional entries needs version 3
    ("If unset or if 0 or 1 value is used for dataset with conditional bindings, request will
    be rejected", bigquery.v2.json; the text of that rejection is not recorded)."""
    if "access" not in body or version == 3:
        return
    if _conditional(body["access"]) or _conditional(dataset.get("access")):
        raise invalid(
            "Operations on conditional access entries of a dataset must specify "
            "accessPolicyVersion=3."
        )


def check_if_match(dataset: Mapping[str, Any], if_match: str | None) -> None:
    """412 when an `If-Match` header names another etag than the dataset's. BigQuery's text
    and reason for it are not recorded; these stand in."""
    if if_match is not None and if_match not in ("*", dataset.get("etag")):
        raise ApiError(
            "FAILED_PRECONDITION",
            "Precondition failed: the dataset's etag does not match the If-Match header.",
            http=412,
            legacy_reason="conditionNotMet",
        )


def delete_dataset(world: World, dataset: dict[str, Any], *, contents: bool) -> None:
    reference = dataset["datasetReference"]
    key = dataset_key(reference["projectId"], reference["datasetId"])
    tables = world.store.items(TABLES, f"{key}.")
    if tables and not contents:
        raise error("INVALID_ARGUMENT", f"Dataset {key} is still in use", "resourceInUse")
    for table, _ in tables:
        _delete_rows(world, table)
        world.store.delete(TABLES, table)
    world.store.delete(DATASETS, key)


def list_datasets(world: World, project_id: str) -> list[dict[str, Any]]:
    return world.store.values(DATASETS, f"{project_id}:")


def _without_conditions(access: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Access entries as a read below version 3 shows them: a conditional entry's role with
    `_withcond_` and a hash of its condition appended, and no condition (bigquery.v2.json,
    datasets.get accessPolicyVersion; the hash's make-up is not documented)."""
    shown = []
    for entry in access:
        condition = entry.get("condition")
        if not condition:
            shown.append(entry)
            continue
        digest = hashlib.sha256(repr(sorted(condition.items())).encode()).hexdigest()[:10]
        plain = {k: v for k, v in entry.items() if k != "condition"}
        shown.append({**plain, "role": f"{entry.get('role')}_withcond_{digest}"})
    return shown


def render_dataset(
    dataset: dict[str, Any], base_url: str, *, full: bool, version: int = 3
) -> dict[str, Any]:
    """The Dataset resource; `full` (a get) adds the defaults a read shows, such as
    `maxTimeTravelHours` (recorded on gets, not on insert or patch answers). Below access
    policy `version` 3, conditional access entries show as such a read shows them."""
    reference = dataset["datasetReference"]
    key = dataset_key(reference["projectId"], reference["datasetId"])
    out: dict[str, Any] = {"kind": "bigquery#dataset", "id": key, "type": "DEFAULT"}
    out.update({k: copy.deepcopy(v) for k, v in dataset.items() if not k.startswith("_")})
    out["selfLink"] = (
        f"{base_url}/bigquery/v2/projects/{reference['projectId']}/datasets/"
        f"{reference['datasetId']}"
    )
    if full:
        out.setdefault("maxTimeTravelHours", DEFAULT_TIME_TRAVEL_HOURS)
    if version != 3 and "access" in out:
        out["access"] = _without_conditions(out["access"])
    return out


def render_listed_dataset(dataset: dict[str, Any]) -> dict[str, Any]:
    reference = dataset["datasetReference"]
    out: dict[str, Any] = {
        "kind": "bigquery#dataset",
        "id": dataset_key(reference["projectId"], reference["datasetId"]),
        "datasetReference": dict(reference),
        "location": dataset["location"],
        "type": "DEFAULT",
    }
    for field in ("friendlyName", "labels"):
        if dataset.get(field):
            out[field] = copy.deepcopy(dataset[field])
    return out


def member_can_edit(world: World, project_id: str, dataset_id: str, member: str) -> bool:
    """Whether `member` holds a data-editing role on the dataset (an access entry WRITER or
    OWNER, or a project role), in effect; False when the dataset does not exist."""
    dataset = find_dataset(world, project_id, dataset_id)
    project = world.find_project(project_id)
    if dataset is None or project is None:
        return False
    delay = world.settings.iam_effect_delay_s
    granted = dataset.get("_grantedAt") or {}
    for entry in dataset.get("access") or []:
        since = float(granted.get(f"{entry.get('role')} {member}", 0.0))
        if (
            entry.get("role") in EDITORS
            and _member(entry) == member
            and world.now() >= since + delay
        ):
            return True
    resources = (project_policy_name(project["number"]),)
    return iam.member_holds_any(world, resources, member, PROJECT_EDITORS)


# ----- tables


def find_table(world: World, key: str) -> dict[str, Any] | None:
    return world.store.get(TABLES, key)


def require_table(world: World, project_id: str, dataset_id: str, table_id: str) -> dict[str, Any]:
    key = table_key(project_id, dataset_id, table_id)
    table = find_table(world, key)
    if table is None:
        raise error("NOT_FOUND", f"Not found: Table {key}", "notFound")
    return table


def insert_table(world: World, dataset: dict[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    reference = dataset["datasetReference"]
    project_id, dataset_id = reference["projectId"], reference["datasetId"]
    given = body.get("tableReference") or {}
    table_id = str(given.get("tableId") or "")
    if not TABLE_ID.match(table_id):
        raise invalid(f'Invalid table ID "{table_id}".')
    if any(given.get(k) not in (None, "", reference[k]) for k in ("projectId", "datasetId")):
        raise invalid(f"The table reference is not in Dataset {project_id}:{dataset_id}.")
    key = table_key(project_id, dataset_id, table_id)
    if find_table(world, key) is not None:
        raise error("ALREADY_EXISTS", f"Already Exists: Table {key}", "duplicate")
    record = {k: copy.deepcopy(v) for k, v in body.items() if k in TABLE_WRITABLE}
    record["tableReference"] = {
        "projectId": project_id,
        "datasetId": dataset_id,
        "tableId": table_id,
    }
    record["location"] = dataset["location"]
    record["creationTime"] = record["lastModifiedTime"] = _millis(world)
    record["etag"] = base64_etag(world)
    world.store.put(TABLES, key, record)
    return record


def list_tables(world: World, dataset: dict[str, Any]) -> list[dict[str, Any]]:
    reference = dataset["datasetReference"]
    return world.store.values(
        TABLES, dataset_key(reference["projectId"], reference["datasetId"]) + "."
    )


def row_count(world: World, key: str) -> int:
    return len(world.store.items(ROWS, f"{key}/"))


def render_table(world: World, table: dict[str, Any], base_url: str) -> dict[str, Any]:
    reference = table["tableReference"]
    key = table_key(reference["projectId"], reference["datasetId"], reference["tableId"])
    out: dict[str, Any] = {"kind": "bigquery#table", "id": key, "type": "TABLE"}
    out.update({k: copy.deepcopy(v) for k, v in table.items() if not k.startswith("_")})
    out["selfLink"] = (
        f"{base_url}/bigquery/v2/projects/{reference['projectId']}/datasets/"
        f"{reference['datasetId']}/tables/{reference['tableId']}"
    )
    out["numRows"] = str(row_count(world, key))
    out["numBytes"] = "0"
    return out


def render_listed_table(table: dict[str, Any]) -> dict[str, Any]:
    reference = table["tableReference"]
    out = {
        "kind": "bigquery#table",
        "id": table_key(reference["projectId"], reference["datasetId"], reference["tableId"]),
        "tableReference": dict(reference),
        "type": "TABLE",
        "creationTime": table["creationTime"],
    }
    for field in ("friendlyName", "labels"):
        if table.get(field):
            out[field] = copy.deepcopy(table[field])
    return out


# ----- rows


def append_row(
    world: World, project_id: str, dataset_id: str, table_id: str, row: Mapping[str, Any]
) -> None:
    """Stream one row into the table, creating it (and adding columns) as needed: columns are
    STRING, `Metadata` JSON."""
    dataset = require_dataset(world, project_id, dataset_id)
    key = table_key(project_id, dataset_id, table_id)
    table = find_table(world, key) or insert_table(
        world, dataset, {"tableReference": {"tableId": table_id}}
    )
    fields = list((table.get("schema") or {}).get("fields") or [])
    known = {field["name"] for field in fields}
    added = [
        {"name": name, "type": "JSON" if name == "Metadata" else "STRING", "mode": "NULLABLE"}
        for name in row
        if name not in known
    ]
    if added:
        table["schema"] = {"fields": fields + added}
        table["lastModifiedTime"] = _millis(world)
        world.store.put(TABLES, key, table)
    number = world.store.next_value(f"bq:{key}")
    world.store.put(ROWS, f"{key}/{number:012d}", dict(row))


def rows(world: World, table: dict[str, Any]) -> list[dict[str, Any]]:
    reference = table["tableReference"]
    key = table_key(reference["projectId"], reference["datasetId"], reference["tableId"])
    return world.store.values(ROWS, f"{key}/")


def _delete_rows(world: World, key: str) -> None:
    for row, _ in world.store.items(ROWS, f"{key}/"):
        world.store.delete(ROWS, row)


def render_rows(table: dict[str, Any], chosen: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as `tabledata.list` answers them: `{"f": [{"v": value}, ...]}` in schema order, a
    missing value as `null`."""
    fields = [field["name"] for field in (table.get("schema") or {}).get("fields") or []]
    return [{"f": [{"v": row.get(name)} for name in fields]} for row in chosen]
