"""Shortcuts through the HTTP stack under the Google client libraries, each giving exactly what
the code it shortcuts gives (tests/unit/test_client_fast_paths.py compares them), installed by
`install()` when the first authorised `Http` is made. Nothing outside the Google client stack is
touched: `http.client`, which other libraries in the process share (urllib3, the in-process
emulator's server), is left as it is.

A plan of many sites is bound by the client's CPU per request (README "Performance"); these are
the parts of that CPU that did nothing for provision's requests:

- httplib2 converts every URI from an IRI character by character; for an ASCII URI (every URI
  provision sends) that pass returns what it was given. About a tenth of the CPU per request.
- googleapiclient's `BatchHttpRequest` writes each batch with the `email` package's MIME
  generator and reads the answer with its feed parser: about a third of the CPU of a batched
  call. `LeanBatch` writes the same bytes and reads plain answers directly (its `execute`, the
  401 handling and the callbacks are the library's); anything unusual goes the library's way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from email.generator import Generator
from typing import Any
from urllib.parse import urlparse, urlsplit, urlunparse, urlunsplit

from googleapiclient import _auth
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

_PLAIN_HEADER = re.compile(r"[\041-\071\073-\176]+:[^\r\n]*\r?\n\Z")
"""A whole header line the feed parser would read as one header: a name of printable ASCII
without `:` or spaces, a colon, a value without line breaks, one line ending."""


def install() -> None:
    """Install the URI shortcut (once); `LeanBatch` is used where batches are built."""
    import httplib2

    ascii_uris_as_they_are(httplib2)


def ascii_uris_as_they_are(httplib2: Any) -> None:
    """httplib2's IRI-to-URI conversion without its per-character pass for ASCII URIs (that
    pass escapes only characters from U+00A0 up). Other URIs still go through it."""
    convert = httplib2.iri2uri
    if getattr(convert, "ascii_fast_path", False):
        return

    def iri2uri(uri: Any) -> Any:
        if isinstance(uri, str) and uri.isascii():
            scheme, authority, path, query, fragment = urlsplit(uri)
            authority = authority.encode("idna").decode("utf-8")
            return urlunsplit((scheme, authority, path, query, fragment))
        return convert(uri)

    iri2uri.ascii_fast_path = True  # type: ignore[attr-defined]
    httplib2.iri2uri = iri2uri


_PART_HEADERS = (
    "Content-Type: application/http\nMIME-Version: 1.0\nContent-Transfer-Encoding: binary\n"
)
_PLAIN_VALUE = re.compile(r"[\x20-\x7e]*\Z")
_PLAIN_NAME = re.compile(r"[\041-\071\073-\176]+\Z")
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?')


class LeanBatch(BatchHttpRequest):  # type: ignore[misc]
    """A `BatchHttpRequest` that writes and reads plain batches without the `email` package."""

    def _serialize_request(self, request: Any) -> str:
        """The library's `application/http` form of `request`, for a request without a body
        whose headers are plain ASCII (else the library's own)."""
        headers = dict(request.headers)
        if request.http is not None:
            credentials = _auth.get_credentials_from_http(request.http)
            if credentials is not None:
                _auth.apply_credentials(credentials, headers)
        content_type = headers.pop("content-type", None) or "application/json"
        plain = request.body is None and content_type.count("/") == 1
        plain = plain and all(
            isinstance(k, str)
            and isinstance(v, str)
            and _PLAIN_NAME.match(k)
            and _PLAIN_VALUE.match(v)
            for k, v in headers.items()
        )
        if not plain:
            return str(super()._serialize_request(request))
        parsed = urlparse(request.uri)
        target = urlunparse(("", "", parsed.path, parsed.params, parsed.query, ""))
        lines = [f"{request.method} {target} HTTP/1.1", f"Content-Type: {content_type}"]
        lines.append("MIME-Version: 1.0")
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Host: {parsed.netloc}")
        return "\n".join(lines) + "\n\n"

    def _execute(self, http: Any, order: Sequence[str], requests: Mapping[str, Any]) -> None:
        parts = [
            f"{_PART_HEADERS}Content-ID: {self._id_to_header(request_id)}\n\n"
            + self._serialize_request(requests[request_id])
            for request_id in order
        ]
        text = "\n".join(parts)
        if any(len(f"Content-ID: {self._id_to_header(i)}") > 78 for i in order):
            super()._execute(http, order, requests)  # the generator would fold the header
            return
        make_boundary: Any = getattr(Generator, "_make_boundary")  # noqa: B009
        boundary = make_boundary(text)  # as the MIME generator picks it
        body = f"--{boundary}\n" + f"\n--{boundary}\n".join(parts) + f"\n--{boundary}--\n"
        headers = {"content-type": f'multipart/mixed; boundary="{boundary}"'}
        resp, content = http.request(self._batch_uri, method="POST", body=body, headers=headers)
        if resp.status >= 300:
            raise HttpError(resp, content, uri=self._batch_uri)
        answers = _answer_parts(resp.get("content-type", ""), content)
        if answers is None:
            _parse_as_the_library_does(self, resp, content)
            return
        for content_id, payload in answers:
            request_id = self._header_to_id(content_id)
            response, answer = _response_of(payload) or self._deserialize_response(payload)
            if isinstance(answer, str):
                answer = answer.encode("utf-8")
            self._responses[request_id] = (response, answer)


def _answer_parts(content_type: str, content: bytes) -> list[tuple[str, str]] | None:
    """(Content-ID, payload) of each part of a multipart answer, as the feed parser would give
    them (`part["Content-ID"]`, `part.get_payload()`); None when the answer is not plain: no
    boundary, a preamble, a delimiter not at a line start, part headers that are not plain
    CRLF-ended lines."""
    found = _BOUNDARY.search(content_type)
    if not content_type.lower().startswith("multipart/") or found is None:
        return None
    sections = content.decode("utf-8").split("--" + found.group(1))
    if len(sections) < 3 or sections[0] or not sections[-1].startswith("--"):
        return None
    answers = []
    for section in sections[1:-1]:
        line_end = section.find("\n")
        if line_end < 0 or section[:line_end].strip("\r \t") or not section.endswith("\n"):
            return None  # junk after a delimiter, or the next one not at a line start
        body = section[line_end + 1 :]
        body = body[:-2] if body.endswith("\r\n") else body[:-1]
        head, separator, payload = body.partition("\r\n\r\n")
        if not separator:
            return None
        content_id = None
        for line in head.split("\r\n"):
            if not _PLAIN_HEADER.match(line + "\n"):
                return None
            name, value = line.split(":", 1)
            if content_id is None and name.lower() == "content-id":
                content_id = value.strip(" \t")
        if content_id is None:
            return None
        answers.append((content_id, payload))
    return answers


def _response_of(payload: str) -> tuple[Any, str] | None:
    """The library's `_deserialize_response` for a part whose headers are plain lines; None
    for any other part."""
    import httplib2

    status_line, separator, rest = payload.partition("\n")
    head, blank, content = rest.partition("\r\n\r\n")
    if not separator or not blank or status_line.count(" ") < 2:
        return None
    protocol, status, reason = status_line.split(" ", 2)
    info: dict[str, str] = {}
    for line in head.split("\r\n") if head else []:
        if not _PLAIN_HEADER.match(line + "\n"):
            return None
        name, value = line.split(":", 1)
        info[name.lower()] = value.lstrip(" \t")
    info["status"] = status
    response = httplib2.Response(info)
    response.reason = reason
    response.version = int(protocol.split("/", 1)[1].replace(".", ""))
    return response, content


def _parse_as_the_library_does(batch: BatchHttpRequest, resp: Any, content: bytes) -> None:
    """The answer-reading half of `BatchHttpRequest._execute`, unchanged."""
    from email.parser import FeedParser

    from googleapiclient.errors import BatchError

    text = content.decode("utf-8")
    parser = FeedParser()
    parser.feed(f"content-type: {resp['content-type']}\r\n\r\n" + text)
    mime_response = parser.close()
    if not mime_response.is_multipart():
        raise BatchError("Response not in multipart/mixed format.", resp=resp, content=text)
    parts: Any = mime_response.get_payload()
    for part in parts:
        request_id = batch._header_to_id(part["Content-ID"])
        response, answer = batch._deserialize_response(part.get_payload())
        if isinstance(answer, str):
            answer = answer.encode("utf-8")
        batch._responses[request_id] = (response, answer)
