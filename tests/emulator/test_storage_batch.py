"""Cloud Storage JSON API batches (`POST /batch/storage/v1`), driven by google-api-python-client's
BatchHttpRequest, google-cloud-storage's Batch and raw HTTP."""

from __future__ import annotations

import email.parser
import http.client
import json
import time
from collections.abc import Iterator
from contextlib import closing, suppress
from email.message import Message
from typing import Any

import httplib2
import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud.storage import Client
from googleapiclient.discovery import Resource
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest, HttpRequest

from provision.emulator.server import RunningEmulator
from tests.conftest import journal
from tests.emulator.clients import control, discovery_client
from tests.emulator.seeding import seed_project, storage_client

PROJECT = "batch-test"
BUCKETS = ("batch-a", "batch-b", "batch-c")

Outcome = tuple[str, Any, Exception | None]
"""(request id, deserialised response, exception) as BatchHttpRequest's callback gets them."""


@pytest.fixture
def gcs(emulator: RunningEmulator) -> Iterator[Resource]:
    """The storage v1 discovery client on the emulator, with PROJECT and BUCKETS, each bucket
    granting its own member objectViewer (so every policy is told apart by its bindings)."""
    seed_project(emulator.world, PROJECT, services=())
    client = storage_client(emulator)
    for name in BUCKETS:
        client.buckets().insert(project=PROJECT, body={"name": name}).execute()
        policy = client.buckets().getIamPolicy(bucket=name).execute()
        policy["bindings"].append(_viewer(name))
        client.buckets().setIamPolicy(bucket=name, body=policy).execute()
    emulator.world.journal.clear()
    yield client


def _viewer(bucket: str) -> dict[str, Any]:
    return {"role": "roles/storage.objectViewer", "members": [f"user:{bucket}@example.com"]}


def _run(emulator: RunningEmulator, requests: list[HttpRequest]) -> list[Outcome]:
    """Send `requests` as one batch to the emulator's batch endpoint; the callback's outcomes."""
    outcomes: list[Outcome] = []
    batch = BatchHttpRequest(
        callback=lambda request_id, response, exception: outcomes.append(
            (request_id, response, exception)
        ),
        batch_uri=emulator.base_url + "/batch/storage/v1",
    )
    for request in requests:
        batch.add(request)
    batch.execute(http=httplib2.Http(timeout=30))
    return outcomes


def _runs(emulator: RunningEmulator) -> list[dict[str, Any]]:
    """Journal entries of calls (everything but batch envelopes)."""
    return [entry for entry in journal(emulator) if entry["method_id"] != "batch"]


def _envelopes(emulator: RunningEmulator) -> list[dict[str, Any]]:
    return [entry for entry in journal(emulator) if entry["method_id"] == "batch"]


def test_policies_answer_in_order(emulator: RunningEmulator, gcs: Resource) -> None:
    requests = [
        gcs.buckets().getIamPolicy(bucket=name, optionsRequestedPolicyVersion=3)
        for name in (*BUCKETS, BUCKETS[0])
    ]
    outcomes = _run(emulator, requests)
    assert [request_id for request_id, _, _ in outcomes] == ["1", "2", "3", "4"]
    assert [exception for _, _, exception in outcomes] == [None] * 4
    for (_, policy, _), name in zip(outcomes, (*BUCKETS, BUCKETS[0]), strict=True):
        assert policy["kind"] == "storage#policy"
        assert policy["resourceId"] == f"projects/_/buckets/{name}"
        assert _viewer(name) in policy["bindings"]
        assert policy["etag"] == "CAI="
    # The calls ran in the order they were sent.
    assert [entry["path"] for entry in _runs(emulator)] == [
        f"/storage/v1/b/{name}/iam" for name in (*BUCKETS, BUCKETS[0])
    ]


def test_missing_bucket_fails_only_its_call(emulator: RunningEmulator, gcs: Resource) -> None:
    names = [BUCKETS[0], "no-such-bucket", BUCKETS[1]]
    outcomes = _run(emulator, [gcs.buckets().getIamPolicy(bucket=name) for name in names])
    first, missing, last = outcomes
    assert first[2] is None
    assert first[1]["resourceId"] == f"projects/_/buckets/{BUCKETS[0]}"
    assert last[2] is None
    assert last[1]["resourceId"] == f"projects/_/buckets/{BUCKETS[1]}"
    assert missing[1] is None
    assert isinstance(missing[2], HttpError)
    assert missing[2].status_code == 404
    error = json.loads(missing[2].content)["error"]
    assert error["errors"][0]["reason"] == "notFound"
    assert "status" not in error


def test_fault_fails_only_the_call_it_matches(emulator: RunningEmulator, gcs: Resource) -> None:
    rule = {"status": 403, "api": "storage", "method_id": "buckets.getIamPolicy", "times": 1}
    control(emulator, "settings", {"rules": [rule]})
    requests = [gcs.buckets().get(bucket=BUCKETS[0])] + [
        gcs.buckets().getIamPolicy(bucket=name) for name in BUCKETS
    ]
    outcomes = _run(emulator, requests)
    statuses = [200 if exc is None else getattr(exc, "status_code", 0) for _, _, exc in outcomes]
    assert statuses == [200, 403, 200, 200]
    assert outcomes[0][1]["name"] == BUCKETS[0]
    assert [
        (entry["method_id"], entry["status"], entry["injected"]) for entry in journal(emulator)
    ] == [
        ("buckets.get", 200, ""),
        ("buckets.getIamPolicy", 403, "before-commit"),
        ("buckets.getIamPolicy", 200, ""),
        ("buckets.getIamPolicy", 200, ""),
        ("batch", 200, ""),
    ]


def test_more_than_100_calls_run_nothing(emulator: RunningEmulator, gcs: Resource) -> None:
    hundred = [gcs.buckets().getIamPolicy(bucket=BUCKETS[n % 3]) for n in range(100)]
    assert [exc for _, _, exc in _run(emulator, hundred)] == [None] * 100
    assert len(_runs(emulator)) == 100
    emulator.world.journal.clear()

    too_many = [gcs.buckets().getIamPolicy(bucket=BUCKETS[n % 3]) for n in range(101)]
    with pytest.raises(HttpError) as refused:
        _run(emulator, too_many)
    assert refused.value.status_code == 400
    error = json.loads(refused.value.content)["error"]
    assert error["code"] == 400
    assert error["errors"][0]["reason"] == "invalid"
    assert "101" in error["message"]
    assert _runs(emulator) == []
    [envelope] = _envelopes(emulator)
    assert (envelope["path"], envelope["status"]) == ("/batch/storage/v1", 400)


def test_call_outside_storage_answers_400(emulator: RunningEmulator, gcs: Resource) -> None:
    crm = discovery_client(emulator, "cloudresourcemanager", "v3").projects()
    outcomes = _run(
        emulator,
        [
            gcs.buckets().getIamPolicy(bucket=BUCKETS[0]),
            crm.get(name=f"projects/{PROJECT}"),
            gcs.buckets().getIamPolicy(bucket=BUCKETS[1]),
        ],
    )
    assert outcomes[0][2] is None
    assert outcomes[2][2] is None
    outside = outcomes[1][2]
    assert isinstance(outside, HttpError)
    assert outside.status_code == 400
    error = json.loads(outside.content)["error"]
    assert error["errors"][0]["reason"] == "invalid"
    assert "/v3/projects/" in error["message"]
    # The Resource Manager call was answered, not run.
    assert [(entry["api"], entry["path"], entry["status"]) for entry in journal(emulator)] == [
        ("storage", f"/storage/v1/b/{BUCKETS[0]}/iam", 200),
        ("unknown", f"/v3/projects/{PROJECT}", 400),
        ("storage", f"/storage/v1/b/{BUCKETS[1]}/iam", 200),
        ("storage", "/batch/storage/v1", 200),
    ]


def test_journal_has_each_call_as_if_direct_then_the_batch(
    emulator: RunningEmulator, gcs: Resource
) -> None:
    policy = gcs.buckets().getIamPolicy(bucket=BUCKETS[2]).execute()

    def calls() -> list[HttpRequest]:
        return [
            gcs.buckets().getIamPolicy(bucket=BUCKETS[0], optionsRequestedPolicyVersion=3),
            gcs.buckets().setIamPolicy(bucket=BUCKETS[2], body=policy),
            gcs.buckets().get(bucket="absent-bucket"),
        ]

    fields = ("method", "path", "query", "status", "api", "method_id", "mutating", "injected")
    emulator.world.journal.clear()
    for call in calls():
        with suppress(HttpError):
            call.execute()
    direct = [{name: entry[name] for name in fields} for entry in journal(emulator)]
    # The batched write carries the current etag, as the direct one did.
    policy = gcs.buckets().getIamPolicy(bucket=BUCKETS[2]).execute()
    emulator.world.journal.clear()

    _run(emulator, calls())
    entries = journal(emulator)
    assert [{name: entry[name] for name in fields} for entry in entries[:-1]] == direct
    assert [entry["status"] for entry in entries[:-1]] == [200, 200, 404]
    assert [entry["mutating"] for entry in entries[:-1]] == [False, True, False]
    envelope = entries[-1]
    assert {name: envelope[name] for name in fields} == {
        "method": "POST",
        "path": "/batch/storage/v1",
        "query": "",
        "status": 200,
        "api": "storage",
        "method_id": "batch",
        "mutating": False,
        "injected": "",
    }
    assert all(entry["start"] >= envelope["start"] for entry in entries[:-1])
    assert [entry["in_batch"] for entry in entries] == [True, True, True, False]


def test_latency_is_paid_once_per_batch(emulator: RunningEmulator, gcs: Resource) -> None:
    latency_s = 0.2
    control(emulator, "settings", {"latency_ms": latency_s * 1000})
    requests = [gcs.buckets().getIamPolicy(bucket=BUCKETS[n % 3]) for n in range(20)]
    began = time.perf_counter()
    outcomes = _run(emulator, requests)
    took = time.perf_counter() - began
    assert [exc for _, _, exc in outcomes] == [None] * 20
    assert latency_s <= took < 5 * latency_s  # twenty latencies would be 4 s
    # The latency is slept after the calls ran: the batch ends at least one latency after
    # its last call started.
    *calls, envelope = journal(emulator)
    assert len(calls) == 20
    assert envelope["start"] + envelope["ms"] / 1000 - calls[-1]["start"] >= latency_s * 0.9


def test_reset_on_a_call_drops_the_batch(emulator: RunningEmulator, gcs: Resource) -> None:
    rule = {"status": 0, "api": "storage", "method_id": "buckets.getIamPolicy"}
    control(emulator, "settings", {"rules": [rule]})
    requests = [
        gcs.buckets().get(bucket=BUCKETS[0]),
        gcs.buckets().getIamPolicy(bucket=BUCKETS[1]),
        gcs.buckets().get(bucket=BUCKETS[2]),
    ]
    with pytest.raises((ConnectionError, http.client.HTTPException)):
        _run(emulator, requests)
    entries = [(entry["path"], entry["injected"]) for entry in journal(emulator)]
    # httplib2 may resend the batch once by itself; every attempt stops at the reset call.
    attempt = [
        (f"/storage/v1/b/{BUCKETS[0]}", ""),
        (f"/storage/v1/b/{BUCKETS[1]}/iam", "reset"),
        ("/batch/storage/v1", "reset"),
    ]
    assert entries in (attempt, attempt * 2)

    control(emulator, "settings", {"rules": []})
    assert [exc for _, _, exc in _run(emulator, requests)] == [None] * 3


def test_google_cloud_storage_batch_deletes_objects(emulator: RunningEmulator) -> None:
    """google-cloud-storage's Batch sends absolute URLs in its calls' request lines."""
    seed_project(emulator.world, PROJECT, services=())
    client = Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": emulator.base_url},
    )
    bucket = client.create_bucket("batch-objects")
    for name in ("a.txt", "b.txt", "c.txt"):
        bucket.blob(name).upload_from_string(name.encode())
    emulator.world.journal.clear()
    with client.batch():
        bucket.delete_blob("a.txt")
        bucket.delete_blob("c.txt")
    assert [blob.name for blob in client.list_blobs(bucket)] == ["b.txt"]
    assert [(entry["method_id"], entry["status"]) for entry in journal(emulator)[:3]] == [
        ("objects.delete", 204),
        ("objects.delete", 204),
        ("batch", 200),
    ]


def _address(emulator: RunningEmulator) -> tuple[str, int]:
    host, port = emulator.base_url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def _post(
    emulator: RunningEmulator, body: bytes, content_type: str, headers: dict[str, str] | None = None
) -> tuple[int, str, bytes]:
    """(status, Content-Type, body) of a raw POST to the batch endpoint."""
    with closing(http.client.HTTPConnection(*_address(emulator), timeout=30)) as conn:
        conn.request(
            "POST",
            "/batch/storage/v1",
            body=body,
            headers={"Content-Type": content_type, **(headers or {})},
        )
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read()


def _answer_parts(content_type: str, data: bytes) -> list[tuple[Message, str]]:
    """Each part of a multipart answer: (its MIME headers, its payload)."""
    message = email.parser.BytesParser().parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + data
    )
    assert message.is_multipart()
    parts = []
    for part in message.walk():
        if part is message:
            continue
        payload = part.get_payload()
        assert isinstance(payload, str)
        parts.append((part, payload))
    return parts


def test_wire_format_with_inherited_headers(emulator: RunningEmulator, gcs: Resource) -> None:
    """A CRLF batch as Google documents it: Content-IDs are echoed as `response-...`, each part
    is a whole HTTP response, and the batch's own headers (not its Content-* ones) apply to
    every call that does not set them itself."""
    client = Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": emulator.base_url},
    )
    client.bucket(BUCKETS[0]).blob("ten.bin").upload_from_string(b"0123456789")
    media = f"/storage/v1/b/{BUCKETS[0]}/o/ten.bin?alt=media"
    calls = [
        ("<item1:1@example.com>", f"GET {media} HTTP/1.1\r\n\r\n"),
        ("<item2:1@example.com>", f"GET {media} HTTP/1.1\r\nRange: bytes=6-7\r\n\r\n"),
        (None, f"GET /storage/v1/b/{BUCKETS[1]}/iam HTTP/1.1\r\n\r\n"),
    ]
    body = "".join(
        "--BOUNDARY\r\nContent-Type: application/http\r\n"
        + (f"Content-ID: {content_id}\r\n" if content_id else "")
        + "\r\n"
        + request
        + "\r\n"
        for content_id, request in calls
    )
    status, content_type, data = _post(
        emulator,
        (body + "--BOUNDARY--\r\n").encode(),
        "multipart/mixed; boundary=BOUNDARY",
        {"Range": "bytes=0-1"},
    )
    assert status == 200
    assert content_type.startswith("multipart/mixed; boundary=")
    parts = _answer_parts(content_type, data)
    assert [part["Content-Type"] for part, _ in parts] == ["application/http"] * 3
    assert [part["Content-ID"] for part, _ in parts] == [
        "<response-item1:1@example.com>",
        "<response-item2:1@example.com>",
        None,
    ]
    first, second, third = (answer.split("\r\n\r\n", 1) for _, answer in parts)
    assert first[0].startswith("HTTP/1.1 206 Partial Content\r\n")
    assert "Content-Range: bytes 0-1/10" in first[0]
    assert first[1] == "01"
    assert second[0].startswith("HTTP/1.1 206 Partial Content\r\n")
    assert second[1] == "67"
    assert third[0].startswith("HTTP/1.1 200 OK\r\n")
    assert "Content-Type: application/json; charset=UTF-8" in third[0]
    assert json.loads(third[1])["resourceId"] == f"projects/_/buckets/{BUCKETS[1]}"


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b'{"calls": []}', "application/json", "multipart/mixed"),
        (b"--B--\r\n", "multipart/mixed; boundary=B", "no calls"),
        (
            b"--B\r\nContent-Type: text/plain\r\n\r\nhello\r\n--B--\r\n",
            "multipart/mixed; boundary=B",
            "application/http",
        ),
        (b"x" * 10_000_000, "multipart/mixed; boundary=B", "10000000 bytes"),
    ],
    ids=["not-multipart", "empty", "not-http-part", "ten-megabytes"],
)
def test_malformed_batches_answer_400(
    emulator: RunningEmulator, body: bytes, content_type: str, reason: str
) -> None:
    status, answer_type, data = _post(emulator, body, content_type)
    assert status == 400
    assert answer_type.startswith("application/json")
    error = json.loads(data)["error"]
    assert error["code"] == 400
    assert error["errors"][0]["reason"] == "invalid"
    assert "status" not in error
    assert reason in error["message"]
    assert [(entry["method_id"], entry["status"]) for entry in journal(emulator)] == [
        ("batch", 400)
    ]
