"""The client-side fast paths (provision.gcp.fast_paths) give exactly what the library code
they shortcut gives."""

from __future__ import annotations

import email.generator
import email.parser
import importlib
from typing import Any

import httplib2
import pytest
from googleapiclient.http import BatchHttpRequest, HttpRequest

from provision.gcp import fast_paths


def test_ascii_uris_convert_as_httplib2_would() -> None:
    fast_paths.install()
    fast = httplib2.iri2uri
    assert getattr(fast, "ascii_fast_path", False)
    original = importlib.import_module("httplib2.iri2uri").iri2uri
    for uri in (
        "http://127.0.0.1:8765/v1/projects/p/locations/us-central1/datasets/d:getIamPolicy",
        "https://storage.googleapis.com/storage/v1/b/bucket-1/iam?alt=json&userProject=x",
        "https://Healthcare.GoogleAPIs.com/v1/projects/p?",
        "http://example.com/a%20b?q=%E2%82%AC#frag",
        "https://example.com/caf\u00e9?q=\u20ac",  # not ASCII: httplib2's own conversion
    ):
        assert fast(uri) == original(uri)
    fast_paths.install()  # installing twice keeps one wrapper
    assert httplib2.iri2uri is fast


class _Recording:
    """An Http that records the request and answers `answer`."""

    def __init__(self, content_type: str, answer: bytes) -> None:
        self.sent: list[tuple[str, dict[str, str]]] = []
        self.content_type = content_type
        self.answer = answer

    def request(self, uri: str, method: str, body: str, headers: dict[str, str]) -> Any:
        self.sent.append((body, headers))
        return httplib2.Response({"status": "200", "content-type": self.content_type}), self.answer


def _requests() -> list[HttpRequest]:
    headers = {
        "accept": "application/json",
        "accept-encoding": "gzip, deflate",
        "user-agent": "provision/0.1",
        "x-goog-api-client": "gdcl/2.0 gl-python/3.11",
    }
    return [
        HttpRequest(
            httplib2.Http(),
            lambda resp, content: content,
            f"http://127.0.0.1:8765/storage/v1/b/bucket-{n}/iam?alt=json",
            method="GET",
            headers=dict(headers),
        )
        for n in range(3)
    ]


ANSWER = (
    b"--batch_abc\r\nContent-Type: application/http\r\nContent-ID: <response-X + 0>\r\n\r\n"
    b'HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{"a": 1}\r\n'
    b"--batch_abc\r\nContent-Type: application/http\r\nContent-ID: <response-X + 1>\r\n\r\n"
    b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json; charset=UTF-8\r\n"
    b'Vary: Origin\r\n\r\n{"error": {"code": 404}}\r\n'
    b"--batch_abc\r\nContent-Type: application/http\r\nContent-ID: <response-X + 2>\r\n\r\n"
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{}\r\n"
    b"--batch_abc--\r\n"
)


@pytest.mark.parametrize(
    "answer",
    [
        ANSWER,
        ANSWER.replace(b"\r\n", b"\n"),  # LF only: the library's way (which fails)
        b"preamble\r\n" + ANSWER,
    ],
)
def test_lean_batches_send_and_read_what_the_library_does(
    answer: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        email.generator.Generator, "_make_boundary", classmethod(lambda cls, text=None: "==B==")
    )
    results: list[tuple[Any, Any]] = []
    for kind in (BatchHttpRequest, fast_paths.LeanBatch):
        batch = kind(batch_uri="http://127.0.0.1:8765/batch/storage/v1")
        batch._base_id = "fixed-base"
        for number, request in enumerate(_requests()):
            batch.add(request, request_id=str(number))
        http = _Recording('multipart/mixed; boundary="batch_abc"', answer)
        try:
            batch._execute(http, batch._order, batch._requests)
        except Exception as error:  # the library's own failure, both ways
            results.append((http.sent, type(error)))
            continue
        answers = {
            key: (dict(resp), resp.status, resp.reason, resp.version, content)
            for key, (resp, content) in batch._responses.items()
        }
        results.append((http.sent, answers))
    assert results[0] == results[1]
