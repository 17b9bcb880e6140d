"""The Google access layer against the emulator over real HTTP: retries, budgets, LROs, threads."""

from __future__ import annotations

import http.server
import logging
import re
import threading
import time
from typing import Any

import pytest

from provision.emulator.server import RunningEmulator
from provision.errors import GoogleApiError
from provision.gcp import api as api_module
from provision.gcp.api import GoogleApi
from provision.gcp.credentials import Target
from provision.gcp.settings import FAST_TIMING
from tests.e2e.conftest import BILLING, control, journal, set_faults

pytest.importorskip("provision.emulator.resourcemanager.routes")

PID = "gcp-layer-test"


@pytest.fixture
def api(emulator: RunningEmulator) -> GoogleApi:
    control(emulator, "reset")
    return GoogleApi(Target(endpoint=emulator.base_url), FAST_TIMING)


def create_project(api: GoogleApi) -> dict[str, Any]:
    operation = api.call("cloudresourcemanager.projects.create", body={"projectId": PID})
    return api.wait(operation, api="cloudresourcemanager", what="creating project")


def entries(emulator: RunningEmulator, method_id: str) -> list[dict[str, Any]]:
    return [e for e in journal(emulator) if e["method_id"] == method_id]


def test_persistent_503_is_retried_within_the_attempt_budget(
    api: GoogleApi, emulator: RunningEmulator
) -> None:
    set_faults(emulator, rules=[{"method_id": "projects.get", "status": 503}])
    with pytest.raises(GoogleApiError) as raised:
        api.call("cloudresourcemanager.projects.get", name=f"projects/{PID}")
    assert "gave up after 8 attempts" in str(raised.value)
    assert len(entries(emulator, "projects.get")) == 8


@pytest.mark.parametrize("status", [500, 502, 503, 504, 0])
def test_transient_failures_are_retried(
    api: GoogleApi, emulator: RunningEmulator, status: int
) -> None:
    create_project(api)
    set_faults(emulator, rules=[{"method_id": "projects.get", "status": status, "times": 2}])
    project = api.call("cloudresourcemanager.projects.get", name=f"projects/{PID}")
    assert project["projectId"] == PID
    assert [e["status"] for e in entries(emulator, "projects.get")][-1] == 200
    if status == 0:
        # the HTTP client may re-send once itself when a kept-alive connection turns out
        # closed before any status line; every other failure is counted by the retry table.
        assert 1 <= api.stats.retries <= 2
    else:
        assert api.stats.retries == 2


def test_rate_limit_honours_retry_info(api: GoogleApi, emulator: RunningEmulator) -> None:
    create_project(api)
    set_faults(emulator, rules=[{"method_id": "projects.get", "status": 429, "times": 1}])
    delays: list[float] = []
    api.on_retry = lambda attempt: delays.append(attempt.delay)
    api.call("cloudresourcemanager.projects.get", name=f"projects/{PID}")
    assert len(delays) == 1
    assert delays[0] >= 1.0  # the emulator's RetryInfo.retryDelay, not the 10 ms test backoff


def test_permission_denied_fails_at_once(api: GoogleApi, emulator: RunningEmulator) -> None:
    with pytest.raises(GoogleApiError) as raised:
        api.call("cloudresourcemanager.projects.get", name=f"projects/{PID}")
    assert raised.value.http_status == 403
    assert len(entries(emulator, "projects.get")) == 1


def test_project_operation_is_polled_until_done(api: GoogleApi, emulator: RunningEmulator) -> None:
    set_faults(emulator, lro_polls=3)
    done = create_project(api)
    assert done["done"] is True
    assert done["response"]["projectId"] == PID
    assert len(entries(emulator, "operations.get")) == 3


def test_already_done_operations_are_never_polled(
    api: GoogleApi, emulator: RunningEmulator
) -> None:
    create_project(api)
    api.call(
        "cloudbilling.projects.updateBillingInfo",
        name=f"projects/{PID}",
        body={"billingAccountName": BILLING},
    )
    service = f"projects/{PID}/services/storage.googleapis.com"
    first = api.call("serviceusage.services.enable", name=service, body={})
    api.wait(first, api="serviceusage", what="enable")
    polls = len(entries(emulator, "operations.get"))
    again = api.call("serviceusage.services.enable", name=service, body={})
    assert again.get("done") is True
    api.wait(again, api="serviceusage", what="enable again")
    assert len(entries(emulator, "operations.get")) == polls


def test_billing_failure_is_not_retried(api: GoogleApi, emulator: RunningEmulator) -> None:
    create_project(api)
    with pytest.raises(GoogleApiError) as raised:
        api.call(
            "serviceusage.services.enable",
            name=f"projects/{PID}/services/healthcare.googleapis.com",
            body={},
        )
    assert raised.value.reason == "UREQ_PROJECT_BILLING_NOT_FOUND"
    assert "link a billing account" in raised.value.message
    assert len(entries(emulator, "services.enable")) == 1


def read_concurrently(api: GoogleApi, method: str, name: str) -> list[BaseException]:
    """16 threads calling `method` 10 times each; the errors they met."""
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            for _ in range(10):
                api.call(method, name=name)
        except BaseException as error:  # collected and asserted by the caller
            errors.append(error)

    threads = [threading.Thread(target=reader) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_concurrent_calls_each_get_a_connection_of_their_own(
    api: GoogleApi, emulator: RunningEmulator
) -> None:
    create_project(api)
    errors = read_concurrently(api, "cloudbilling.projects.getBillingInfo", name=f"projects/{PID}")
    assert errors == []
    assert len(entries(emulator, "projects.getBillingInfo")) == 160
    pooled = sum(len(idle) for idle in api._idle_http.values())
    assert 1 <= pooled <= 16  # reused, never more than the calls in flight


def test_concurrent_resource_manager_calls_share_one_client(
    api: GoogleApi, emulator: RunningEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    create_project(api)
    with caplog.at_level(logging.WARNING):
        errors = read_concurrently(api, "cloudresourcemanager.projects.get", name=f"projects/{PID}")
    assert errors == []
    assert len(entries(emulator, "projects.get")) == 160
    assert api._idle_http == {}  # no discovery client: Resource Manager's own REST client
    assert not [r for r in caplog.records if "pool is full" in r.getMessage()]


def test_a_client_resource_is_built_once_when_many_workers_first_need_it(api: GoogleApi) -> None:
    cache: dict[str, object] = {}
    builds: list[object] = []
    results: list[object] = []
    ready = threading.Barrier(16)

    def build() -> object:
        builds.append(object())
        time.sleep(0.01)  # long enough for the other workers to arrive meanwhile
        return builds[-1]

    def worker() -> None:
        ready.wait()
        results.append(api._built(cache, "projects", build))

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(builds) == 1
    assert results == builds * 16


def create_buckets(api: GoogleApi, *names: str) -> None:
    create_project(api)
    for name in names:
        api.call("storage.buckets.insert", project=PID, body={"name": f"{PID}-{name}"})


def test_a_batch_answers_each_call_in_order_with_its_own_error(
    api: GoogleApi, emulator: RunningEmulator
) -> None:
    create_buckets(api, "one", "two")
    calls = [{"bucket": f"{PID}-{name}"} for name in ("one", "missing", "two")]
    first, missing, second = api.batch("storage.buckets.getIamPolicy", calls)
    assert isinstance(first, dict) and first["resourceId"].endswith(f"{PID}-one")
    assert isinstance(missing, GoogleApiError) and missing.http_status == 404
    assert isinstance(second, dict) and second["resourceId"].endswith(f"{PID}-two")
    assert len(entries(emulator, "batch")) == 1
    assert len(entries(emulator, "buckets.getIamPolicy")) == 3


def test_a_batch_is_split_at_the_limit_and_a_failed_batch_is_retried(
    api: GoogleApi, emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api_module, "BATCH_LIMIT", 2)
    names = ["a", "b", "c", "d", "e"]
    create_buckets(api, *names)
    set_faults(emulator, rules=[{"method_id": "batch", "status": 503, "times": 1}])
    answers = api.batch("storage.buckets.getIamPolicy", [{"bucket": f"{PID}-{n}"} for n in names])
    assert [a["resourceId"].rsplit("-", 1)[-1] for a in answers if isinstance(a, dict)] == names
    assert sorted(e["status"] for e in entries(emulator, "batch")) == [200, 200, 200, 503]
    assert len(entries(emulator, "buckets.getIamPolicy")) == 5  # none ran in the refused one


def test_only_apis_with_a_batch_endpoint_batch(api: GoogleApi) -> None:
    with pytest.raises(ValueError, match="iam has no batch endpoint"):
        api.batch("iam.projects.serviceAccounts.get", [{"name": "x"}])


def test_a_batch_failing_as_a_whole_fails_only_its_own_calls(
    api: GoogleApi, emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api_module, "BATCH_LIMIT", 2)
    create_buckets(api, "a", "b", "c")
    set_faults(emulator, rules=[{"method_id": "batch", "status": 403, "times": 1}])
    answers = api.batch("storage.buckets.getIamPolicy", [{"bucket": f"{PID}-{n}"} for n in "abc"])
    # The chunks ([a, b] and [c]) are in flight together; whichever came first was refused.
    refused = [n for n, a in zip("abc", answers, strict=True) if isinstance(a, GoogleApiError)]
    assert refused in (["a", "b"], ["c"])
    assert {a.http_status for a in answers if isinstance(a, GoogleApiError)} == {403}
    for name, answer in zip("abc", answers, strict=True):
        if name not in refused:
            assert isinstance(answer, dict) and answer["resourceId"].endswith(f"{PID}-{name}")


def test_an_empty_batch_sends_nothing(api: GoogleApi, emulator: RunningEmulator) -> None:
    assert api.batch("storage.buckets.getIamPolicy", []) == []
    assert entries(emulator, "batch") == []


def test_a_cancelled_run_sends_no_batch(api: GoogleApi, emulator: RunningEmulator) -> None:
    create_buckets(api, "a")
    api.cancel.set()
    answers = api.batch("storage.buckets.getIamPolicy", [{"bucket": f"{PID}-a"}] * 3)
    assert [a.http_status for a in answers if isinstance(a, GoogleApiError)] == [499] * 3
    assert entries(emulator, "batch") == []


def test_a_refused_storage_batch_does_not_stop_later_ones(
    api: GoogleApi, emulator: RunningEmulator
) -> None:
    """Storage documents its endpoint: a 404 of one batch is that batch's answer only."""
    create_buckets(api, "a")
    set_faults(emulator, rules=[{"method_id": "batch", "status": 404, "times": 1}])
    calls = [{"bucket": f"{PID}-a"}] * 2
    assert all(
        isinstance(a, GoogleApiError) for a in api.batch("storage.buckets.getIamPolicy", calls)
    )
    assert all(isinstance(a, dict) for a in api.batch("storage.buckets.getIamPolicy", calls))
    assert api.can_batch("storage")


def test_a_healthcare_endpoint_that_refuses_is_not_sent_another_batch(
    api: GoogleApi, emulator: RunningEmulator
) -> None:
    control(emulator, "settings", {"healthcare_batch": False})
    calls = [{"name": f"projects/{PID}/locations/us-central1/datasets/d{n}"} for n in range(2)]
    method = "healthcare.projects.locations.datasets.get"
    first = api.batch(method, calls)
    assert {a.http_status for a in first if isinstance(a, GoogleApiError)} == {404}
    assert not api.can_batch("healthcare")
    later = api.batch(method, calls)
    assert {a.http_status for a in later if isinstance(a, GoogleApiError)} == {501}
    assert [e["path"] for e in journal(emulator)] == ["/batch"]  # the one refused


def test_only_reads_are_batched(api: GoogleApi) -> None:
    with pytest.raises(ValueError, match="only reads are batched"):
        api.batch("storage.buckets.setIamPolicy", [{"bucket": "b", "body": {}}])


def test_an_unreadable_batch_answer_fails_each_call_with_a_502() -> None:
    class FirstPartOnly(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            sent = self.rfile.read(int(self.headers["Content-Length"])).decode()
            first = re.search(r"Content-ID: <(.+?)>", sent)
            assert first is not None
            body = (  # an answer to the first call only
                f"--b\r\nContent-Type: application/http\r\n"
                f"Content-ID: <response-{first.group(1)}>\r\n\r\n"
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{}\r\n--b--\r\n"
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "multipart/mixed; boundary=b")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FirstPartOnly)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        host, port = server.server_address[:2]
        target = Target(endpoint=f"http://{host!s}:{port}")
        answers = GoogleApi(target, FAST_TIMING).batch(
            "storage.buckets.getIamPolicy", [{"bucket": "a"}, {"bucket": "b"}]
        )
    finally:
        server.shutdown()
        server.server_close()
    assert [a.http_status for a in answers if isinstance(a, GoogleApiError)] == [502, 502]


def test_the_debug_trace_shows_a_batch_and_the_status_of_each_call(
    api: GoogleApi, caplog: pytest.LogCaptureFixture
) -> None:
    create_buckets(api, "one")
    calls = [{"bucket": f"{PID}-{name}"} for name in ("one", "missing")]
    with caplog.at_level(logging.DEBUG, logger="provision.gcp"):
        api.batch("storage.buckets.getIamPolicy", calls)
    lines = [r.getMessage() for r in caplog.records if "batch" in r.getMessage()]
    assert len(lines) == 2
    assert lines[0].startswith("POST http://") and "/batch/storage/v1 (2 calls) -> ok" in lines[0]
    assert lines[1].endswith("storage.buckets.getIamPolicy in that batch -> 200, 404")


def test_media_is_sent_as_a_multipart_upload_to_the_endpoint(
    api: GoogleApi, emulator: RunningEmulator
) -> None:
    """googleapiclient builds upload URIs as `https://` + the endpoint's host; the gateway
    sends them to the endpoint as configured (here `http://`), under its upload path."""
    create_project(api)
    api.call("storage.buckets.insert", project=PID, body={"name": "media-bucket"})
    body = {"name": "a.lease", "metadata": {"state": "held"}}
    made = api.call(
        "storage.objects.insert",
        bucket="media-bucket",
        name="a.lease",
        ifGenerationMatch=0,
        body=body,
        media=b"",
        media_mime_type="text/plain",
    )
    assert (made["size"], made["contentType"], made["metadata"]) == (
        "0",
        "text/plain",
        {"state": "held"},
    )
    [upload] = entries(emulator, "objects.insert")
    assert (upload["path"], upload["status"]) == ("/upload/storage/v1/b/media-bucket/o", 200)
    assert "uploadType=multipart" in upload["query"]
    with pytest.raises(GoogleApiError) as exists:
        api.call(
            "storage.objects.insert",
            bucket="media-bucket",
            name="a.lease",
            ifGenerationMatch=0,
            body=body,
            media=b"",
        )
    assert exists.value.http_status == 412


def test_upload_uris_go_under_the_endpoint() -> None:
    uri = "https://127.0.0.1:8080/upload/storage/v1/b/b/o?name=n&uploadType=multipart"
    assert api_module.upload_uri(uri, "http://127.0.0.1:8080") == (
        "http://127.0.0.1:8080/upload/storage/v1/b/b/o?name=n&uploadType=multipart"
    )
    assert api_module.upload_uri(uri, "https://gw.example/google/") == (
        "https://gw.example/google/upload/storage/v1/b/b/o?name=n&uploadType=multipart"
    )
