"""The answer check: every JSON answer the emulator gives, held against what Google writes.

A successful answer must read as its method's response schema in the discovery document (only
declared fields, 64-bit integers as strings, RFC 3339 times, enum names, no `null`), carry the
fields Google always sets (`ALWAYS_SET`, from recorded exchanges), and, for a long-running
operation, have a `name`, and `@type`s naming messages of the API that the payload reads as. An
error answer must be the API's envelope with `code` equal to the HTTP status: `code`, `message`,
`status` (and `details[]` with `@type`s) for the ESF APIs; `code`, `message`, `errors[]` with
`message`/`domain`/`reason` for Cloud Storage.

The check is test-time instrumentation: `provision emulator serve` and the in-process emulators
of the test suite run it when `PROVISION_EMULATOR_ANSWER_LOG` names a file, and append each
violation there as a JSON line naming the method, the field and the running test
(`PYTEST_CURRENT_TEST`).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from provision.emulator.core.discovery import Document, Method
from provision.emulator.core.errors import HTTP_FOR_STATUS
from provision.emulator.core.shapes import Checker

LOG_ENV = "PROVISION_EMULATOR_ANSWER_LOG"
TYPE_URL = "type.googleapis.com/"

ALWAYS_SET: Mapping[tuple[str, str], tuple[str, ...]] = {
    # golden/storage__bucket.http.log: buckets.insert and buckets.get
    ("storage", "Bucket"): (
        "kind",
        "id",
        "selfLink",
        "projectNumber",
        "name",
        "timeCreated",
        "updated",
        "metageneration",
        "location",
        "locationType",
        "storageClass",
        "etag",
    ),
    # cloud.google.com/storage/docs/json_api/v1/objects: the read-only fields of every object
    ("storage", "Object"): (
        "kind",
        "id",
        "selfLink",
        "mediaLink",
        "name",
        "bucket",
        "generation",
        "metageneration",
        "storageClass",
        "size",
        "timeCreated",
        "updated",
        "etag",
    ),
    # healthcare.v1.json: `name` is the resource's identifier, set on every answer
    ("healthcare", "Dataset"): ("name",),
    ("healthcare", "DicomStore"): ("name",),
    # golden/resourcemanager__project.http.log (v1 projects.get)
    ("cloudresourcemanager", "v1/Project"): ("projectId", "projectNumber", "lifecycleState"),
    # golden/iam__serviceaccount.http.log (create, get)
    ("iam", "ServiceAccount"): ("name", "projectId", "uniqueId", "email", "etag"),
    # golden/basic__kms__kmscryptokey__kmscryptokey and iam__..__kmscryptokey
    ("cloudkms", "KeyRing"): ("name", "createTime"),
    ("cloudkms", "CryptoKey"): ("name", "createTime", "purpose", "destroyScheduledDuration"),
    ("cloudkms", "CryptoKeyVersion"): ("name", "state", "createTime", "algorithm"),
    # golden/pubsub__topic
    ("pubsub", "Topic"): ("name",),
    # KCC's recorded bigquerydataset fixtures (insert, get, patch)
    ("bigquery", "Dataset"): (
        "kind",
        "id",
        "selfLink",
        "datasetReference",
        "etag",
        "creationTime",
        "lastModifiedTime",
        "location",
        "type",
    ),
    ("cloudresourcemanager", "Operation"): ("name",),
    ("serviceusage", "Operation"): ("name",),
    ("healthcare", "Operation"): ("name",),
}
"""Fields Google sets in every full answer of a schema (keys are (api, schema), or
(api, "version/schema") where versions differ)."""

PARTIAL_ANSWERS = frozenset({"iam.projects.serviceAccounts.patch"})
"""Methods answering only some fields of their response schema (golden/iam__serviceaccount:
`patch` answers `name` and the patched fields)."""

TYPE_PACKAGES: Mapping[tuple[str, str], tuple[str, ...]] = {
    ("cloudresourcemanager", "v3"): ("google.cloud.resourcemanager.v3.",),
    ("cloudresourcemanager", "v1"): ("google.cloudresourcemanager.v1.",),
    ("serviceusage", "v1"): ("google.api.serviceusage.v1.",),
    ("serviceusage", "v1beta1"): ("google.api.serviceusage.v1beta1.",),
    ("healthcare", "v1"): ("google.cloud.healthcare.v1.",),
    ("iam", "v1"): ("google.iam.admin.v1.",),
}
"""The proto packages whose messages an API's operations carry (besides google.protobuf.Empty)."""

TYPE_SCHEMAS: Mapping[str, str] = {
    "google.api.serviceusage.v1.Service": "GoogleApiServiceusageV1Service",
    "google.api.serviceusage.v1beta1.Service": "GoogleApiServiceusageV1Service",
    "google.cloud.healthcare.v1.deidentify.DeidentifyDicomStoreSummary": (
        "GoogleCloudHealthcareV1DeidentifyDeidentifyDicomStoreSummary"
    ),
}
"""Messages whose discovery schema is not named by the message's last segment."""

EMPTY = "google.protobuf.Empty"
PRECONDITION_HTTP = frozenset({("FAILED_PRECONDITION", 412)})
"""(canonical status, HTTP status) pairs Google answers besides the usual one: an unmet HTTP
precondition (`If-Match` naming a stale etag, RFC 9110) is 412 (google-api-core maps 412 to
PreconditionFailed); its canonical status in BigQuery's envelope is not recorded, and
FAILED_PRECONDITION stands in."""
ESF_ERROR_KEYS = frozenset({"code", "message", "status", "details", "errors"})
STORAGE_ERROR_KEYS = frozenset({"code", "message", "errors"})
LEGACY_ERROR_KEYS = frozenset(
    {"message", "domain", "reason", "location", "locationType", "extendedHelp", "debugInfo"}
)


@dataclass(frozen=True)
class Violation:
    method: str
    status: int
    field: str
    message: str
    path: str = ""
    test: str = ""


def check_answer(
    doc: Document | None,
    method: Method | None,
    status: int,
    body: Any,
    *,
    storage: bool,
    partial: bool,
    numeric_enums: bool = False,
    status_field: bool = False,
) -> list[tuple[str, str]]:
    """(field, message) per way a decoded JSON answer differs from what Google writes.
    `partial`: the request asked for a partial response (`fields=`); `numeric_enums`: for enums
    as numbers (`$alt=json;enum-encoding=int`)."""
    if status >= 400:
        return _envelope(status, body, storage=storage, status_field=status_field)
    if doc is None or method is None or method.response is None or method.passthrough:
        return []
    found = _problems(doc, body, method.response, numeric_enums=numeric_enums)
    if not partial and method.id not in PARTIAL_ANSWERS:
        found += _missing(doc, body, method.response)
    if method.response == "Operation" and isinstance(body, dict):
        found += _operation(doc, body)
    return found


def _problems(
    doc: Document, value: Any, ref: str, prefix: str = "", *, numeric_enums: bool = False
) -> list[tuple[str, str]]:
    checker = Checker(doc.schemas, reading="answer", proto_names=False, numeric_enums=numeric_enums)
    found = []
    for problem in checker.check(value, ref):
        where = _join(prefix, problem.path) if problem.path else prefix
        if problem.kind == "unknown":
            found.append((_join(where, problem.name), f"not a field of {ref}"))
        elif problem.kind == "null":
            found.append((where, "null (Google omits fields that are not set)"))
        else:
            found.append((where, f"{problem.name} is not {problem.expected}"))
    return found


def _missing(doc: Document, value: Any, ref: str, prefix: str = "") -> list[tuple[str, str]]:
    if not isinstance(value, dict):
        return []
    required = ALWAYS_SET.get((doc.api, f"{doc.version}/{ref}")) or ALWAYS_SET.get(
        (doc.api, ref), ()
    )
    return [
        (prefix + name, f"missing: Google always sets it on {ref}")
        for name in required
        if name not in value
    ]


def _operation(doc: Document, body: Mapping[str, Any]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if body.get("done") and "response" in body and "error" in body:
        found.append(("done", "a finished operation has a response or an error, not both"))
    for key in ("metadata", "response"):
        payload = body.get(key)
        if isinstance(payload, dict):
            found += _any(doc, payload, key)
    return found


def _any(doc: Document, payload: Mapping[str, Any], key: str) -> list[tuple[str, str]]:
    """Problems of an `Any` payload: a type URL of the API's packages, content of its schema."""
    type_url = payload.get("@type")
    if not isinstance(type_url, str) or not type_url.startswith(TYPE_URL):
        return [(f"{key}.@type", f"missing or not a {TYPE_URL} URL: {type_url!r}")]
    message = type_url.removeprefix(TYPE_URL)
    content = {k: v for k, v in payload.items() if k != "@type"}
    if message == EMPTY:
        ok = not content or content == {"value": {}}
        return [] if ok else [(key, "google.protobuf.Empty with content")]
    packages = TYPE_PACKAGES.get((doc.api, doc.version), ())
    if not message.startswith(packages):
        return [(f"{key}.@type", f"{message} is not a message of {doc.api} {doc.version}")]
    schema = TYPE_SCHEMAS.get(message, message.rsplit(".", 1)[-1])
    if schema not in doc.schemas:
        return [(f"{key}.@type", f"{message}: no schema {schema} in the discovery document")]
    return _problems(doc, content, schema, key) + _missing(doc, content, schema, f"{key}.")


def _envelope(
    status: int, body: Any, *, storage: bool, status_field: bool
) -> list[tuple[str, str]]:
    if not isinstance(body, dict) or set(body) != {"error"} or not isinstance(body["error"], dict):
        return [("", 'an error answer is {"error": {...}} and nothing else')]
    error = body["error"]
    found: list[tuple[str, str]] = []
    allowed = (
        (STORAGE_ERROR_KEYS | ({"status"} if status_field else set()))
        if storage
        else (ESF_ERROR_KEYS)
    )
    found += [(f"error.{k}", "not a field of the error envelope") for k in set(error) - allowed]
    if error.get("code") != status:
        found.append(("error.code", f"{error.get('code')!r} differs from the HTTP status {status}"))
    if not isinstance(error.get("message"), str):
        found.append(("error.message", "missing or not a string"))
    if storage:
        found += _legacy_errors(error.get("errors"), required=True)
        return found
    canonical = str(error.get("status"))
    if canonical not in HTTP_FOR_STATUS:
        found.append(("error.status", f"{canonical!r} is not a canonical status name"))
    elif HTTP_FOR_STATUS[canonical] != status and (canonical, status) not in PRECONDITION_HTTP:
        usual = HTTP_FOR_STATUS[canonical]
        found.append(("error.status", f"{canonical} is answered with {usual}, not {status}"))
    details = error.get("details", [])
    if not isinstance(details, list) or not all(
        isinstance(d, dict) and str(d.get("@type", "")).startswith(TYPE_URL) for d in details
    ):
        found.append(("error.details", "each detail is an object with a type URL in @type"))
    if "errors" in error:
        found += _legacy_errors(error["errors"], required=False)
    return found


def _legacy_errors(errors: Any, *, required: bool) -> list[tuple[str, str]]:
    if errors is None and not required:
        return []
    if not isinstance(errors, list) or not errors:
        return [("error.errors", "missing or empty (each error has message, domain, reason)")]
    found = []
    for index, item in enumerate(errors):
        if not isinstance(item, dict) or not all(
            isinstance(item.get(k), str) for k in ("message", "domain", "reason")
        ):
            found.append((f"error.errors[{index}]", "needs message, domain and reason strings"))
        elif set(item) - LEGACY_ERROR_KEYS:
            extra = ", ".join(sorted(set(item) - LEGACY_ERROR_KEYS))
            found.append((f"error.errors[{index}]", f"unknown keys: {extra}"))
    return found


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class AnswerLog:
    """Appends violations to the file named by `PROVISION_EMULATOR_ANSWER_LOG` (JSON lines)."""

    checked = 0
    """How many answers the emulators of this process have checked."""
    _count_lock = threading.Lock()

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def count(self) -> None:
        """Count one checked answer (see `checked`)."""
        with AnswerLog._count_lock:
            AnswerLog.checked += 1

    @classmethod
    def from_env(cls) -> AnswerLog | None:
        path = os.environ.get(LOG_ENV, "")
        return cls(path) if path else None

    def record(self, violation: Violation) -> None:
        test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]
        line = json.dumps({**asdict(violation), "test": violation.test or test})
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")
