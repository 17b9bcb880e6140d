"""The answer check: answers that differ from what Google writes are caught and logged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from provision.emulator.app import EmulatorApp
from provision.emulator.core import answers
from provision.emulator.core.discovery import document
from provision.emulator.core.gate import Gate
from provision.emulator.core.routing import Route, Router
from provision.emulator.core.store import Store
from provision.emulator.core.world import World


def _check(api: str, version: str, method: str, status: int, body: Any, **kw: Any) -> list[Any]:
    doc = document(api, version)
    assert doc is not None
    return answers.check_answer(
        doc, doc.methods[method], status, body, storage=api == "storage", partial=False, **kw
    )


BUCKET = {
    "kind": "storage#bucket",
    "id": "b",
    "selfLink": "https://www.googleapis.com/storage/v1/b/b",
    "projectNumber": "123",
    "name": "b",
    "timeCreated": "2024-04-01T12:34:56.123Z",
    "updated": "2024-04-01T12:34:56.123Z",
    "metageneration": "1",
    "location": "US",
    "locationType": "multi-region",
    "storageClass": "STANDARD",
    "etag": "CAE=",
}


def test_a_faithful_bucket_passes() -> None:
    assert _check("storage", "v1", "storage.buckets.get", 200, BUCKET) == []


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"metageneration": 1}, "metageneration", "1 is not int64 as a decimal string"),
        ({"updated": "yesterday"}, "updated", '"yesterday" is not an RFC 3339 time'),
        ({"colour": "red"}, "colour", "not a field of Bucket"),
        ({"labels": None}, "labels", "null (Google omits fields that are not set)"),
        ({"rpo": "FAST"}, "rpo", None),
    ],
)
def test_wrong_bucket_answers_name_the_field(
    change: dict[str, Any], field: str, message: str | None
) -> None:
    found = _check("storage", "v1", "storage.buckets.get", 200, {**BUCKET, **change})
    if message is None:  # rpo is a free string in the document: nothing to say
        assert found == []
    else:
        assert found == [(field, message)]


def test_fields_google_always_sets_are_required_unless_a_partial_answer() -> None:
    partial = {k: v for k, v in BUCKET.items() if k != "etag"}
    assert _check("storage", "v1", "storage.buckets.get", 200, partial) == [
        ("etag", "missing: Google always sets it on Bucket")
    ]
    doc = document("storage", "v1")
    assert doc is not None
    method = doc.methods["storage.buckets.get"]
    assert answers.check_answer(doc, method, 200, partial, storage=True, partial=True) == []


def test_operations_carry_types_of_their_api() -> None:
    operation = {
        "name": "operations/x",
        "done": True,
        "metadata": {
            "@type": "type.googleapis.com/google.cloud.resourcemanager.v3.CreateProjectMetadata"
        },
        "response": {
            "@type": "type.googleapis.com/google.cloud.resourcemanager.v3.Project",
            "name": "projects/1",
            "state": "ACTIVE",
            "unknown": 1,
        },
    }
    found = _check(
        "cloudresourcemanager", "v3", "cloudresourcemanager.operations.get", 200, operation
    )
    assert found == [("response.unknown", "not a field of Project")]
    operation["response"] = {"@type": "type.googleapis.com/google.cloud.healthcare.v1.Dataset"}
    found = _check(
        "cloudresourcemanager", "v3", "cloudresourcemanager.operations.get", 200, operation
    )
    assert found == [
        (
            "response.@type",
            "google.cloud.healthcare.v1.Dataset is not a message of cloudresourcemanager v3",
        )
    ]
    assert _check("cloudresourcemanager", "v3", "cloudresourcemanager.operations.get", 200, {}) == [
        ("name", "missing: Google always sets it on Operation")
    ]


def test_error_envelopes_follow_each_api() -> None:
    esf = {"error": {"code": 404, "message": "gone", "status": "NOT_FOUND"}}
    assert _check("healthcare", "v1", "healthcare.projects.locations.datasets.get", 404, esf) == []
    wrong = {"error": {"code": 400, "message": "gone", "status": "NOT_FOUND"}}
    assert _check("healthcare", "v1", "healthcare.projects.locations.datasets.get", 404, wrong) == [
        ("error.code", "400 differs from the HTTP status 404")
    ]
    mismatched = {"error": {"code": 400, "message": "gone", "status": "NOT_FOUND"}}
    assert _check(
        "healthcare", "v1", "healthcare.projects.locations.datasets.get", 400, mismatched
    ) == [("error.status", "NOT_FOUND is answered with 404, not 400")]
    storage_error = {"error": {"code": 404, "message": "No such bucket", "status": "NOT_FOUND"}}
    assert _check("storage", "v1", "storage.buckets.get", 404, storage_error) == [
        ("error.status", "not a field of the error envelope"),
        ("error.errors", "missing or empty (each error has message, domain, reason)"),
    ]


def test_the_emulator_logs_a_wrong_answer_with_method_field_and_test(tmp_path: Path) -> None:
    log = tmp_path / "violations.jsonl"

    def wrong_bucket(ctx: Any) -> dict[str, Any]:
        return {**BUCKET, "metageneration": 7}

    app = EmulatorApp(World(store=Store()))
    route = Route("GET", "/storage/v1/b/{bucket}", wrong_bucket, "storage", "buckets.get", False)
    app.router = Router([route])
    app.gate = Gate([route])
    app.answer_log = answers.AnswerLog(str(log))
    assert Client(app).get("/storage/v1/b/b").status_code == 200
    (violation,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert violation["method"] == "storage.buckets.get"
    assert violation["field"] == "metageneration"
    assert violation["path"] == "GET /storage/v1/b/b"
    assert violation["test"].endswith(
        "test_the_emulator_logs_a_wrong_answer_with_method_field_and_test"
    )


def test_routes_outside_discovery_keep_their_own_formats(tmp_path: Path) -> None:
    """The OAuth token endpoint answers errors as RFC 6749 says, not in a Google envelope."""
    log = tmp_path / "violations.jsonl"
    app = EmulatorApp(World(store=Store()))
    app.answer_log = answers.AnswerLog(str(log))
    answer = Client(app).post("/token", data={"grant_type": "nonsense"})
    assert answer.status_code == 400
    assert "error" in answer.get_json()
    assert not log.exists()


def test_a_value_of_type_any_may_be_null() -> None:
    rows = {"kind": "bigquery#tableDataList", "totalRows": "1", "rows": [{"f": [{"v": None}]}]}
    assert _check("bigquery", "v2", "bigquery.tabledata.list", 200, rows) == []
    assert _check("bigquery", "v2", "bigquery.tabledata.list", 200, {"totalRows": None}) == [
        ("totalRows", "null (Google omits fields that are not set)")
    ]
