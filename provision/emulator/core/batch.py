"""JSON batches: the wire format, in and out, and the endpoints that take them.

Google describes one batch format for its JSON APIs. Each API's discovery document names its
batch endpoint (`batchPath`); an `Endpoint` here is one the emulator answers, with the calls it
accepts: Cloud Storage's (`POST /batch/storage/v1`, documented in storage/docs/batch) and Cloud
Healthcare's (`POST /batch`, see `healthcare.batch`).

A batch is a `multipart/mixed` body whose parts (`Content-Type: application/http`, optional
`Content-ID`) each hold one complete HTTP request: request line, headers, blank line, body. Lines
may end in CRLF or LF (google-api-python-client writes LF). The request target is the path and
query (`/storage/v1/b/B/iam?alt=json`); an absolute URL, as google-cloud-storage sends, stands for
its path and query. Each inner request becomes a WSGI environ of its own; the outer request's
headers apply to it except `Content-*` ones, hop-by-hop ones and the ones the part sets itself.

The answer is a `multipart/mixed` body with one `application/http` part per call, in order, each
holding the complete HTTP response; a part whose request had `Content-ID: <X>` answers with
`Content-ID: <response-X>` (what google-api-python-client matches responses by).

Running the calls, journaling them and the latency are the app's (`EmulatorApp._batch`).
Errors about the batch itself are `ApiError`s with reason `invalid`, rendered in the endpoint's
dialect.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from provision.emulator.core.errors import ApiError, Dialect
from provision.emulator.core.multipart import content_type_params
from provision.emulator.core.routing import WsgiAnswer

MAX_BYTES = 10_000_000
"""The whole batch body must be smaller than this. Google documents "less than 10MB" for Cloud
Storage (some translations say MiB); the stricter reading, so a batch the emulator takes Google
takes too. Applied to every endpoint."""


@dataclass(frozen=True)
class Endpoint:
    """A batch endpoint: where it is, which calls it runs and how it answers errors."""

    path: str
    """The batch's own path, e.g. `/batch/storage/v1`."""
    api: str
    """The API whose calls it runs (a route's `api`); any other call answers 400."""
    prefix: str
    """The path every call must have (e.g. `/storage/v1/`); a call under it that no route of
    `api` serves runs as a request to an unknown path (404)."""
    dialect: Dialect
    max_calls: int
    """Calls in one batch; more run nothing (400)."""
    title: str
    """The API's name in messages, e.g. `Cloud Storage JSON API`."""
    setting: str | None = None
    """The emulator setting (a bool) that turns the endpoint on; None: always on."""


CARRIED_ENVIRON = (
    "SERVER_NAME",
    "SERVER_PORT",
    "SERVER_PROTOCOL",
    "SERVER_SOFTWARE",
    "REMOTE_ADDR",
    "REMOTE_PORT",
    "HTTP_HOST",
    "wsgi.version",
    "wsgi.url_scheme",
    "wsgi.errors",
    "wsgi.multithread",
    "wsgi.multiprocess",
    "wsgi.run_once",
)
"""What an inner request's environ takes from the batch's: the connection, not the request.
The batch's Host stays (a call can only reach the server its batch reached, so selfLinks keep
pointing at the emulator). A reset injected into a call resets the batch's own connection."""

_NOT_INHERITED = frozenset(
    {
        "HTTP_HOST",
        "HTTP_CONNECTION",
        "HTTP_KEEP_ALIVE",
        "HTTP_TRANSFER_ENCODING",
        "HTTP_TE",
        "HTTP_TRAILER",
        "HTTP_UPGRADE",
        "HTTP_EXPECT",
        "HTTP_X_HTTP_METHOD_OVERRIDE",
    }
)
"""Outer headers that never apply to the calls (besides `Content-*`): hop-by-hop ones, Host (see
CARRIED_ENVIRON) and the method override, which the app already applied to the batch itself."""

_REQUEST_LINE = re.compile(r"^([A-Z]+) (\S+) HTTP/\d\.\d$")
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_LINE_END = re.compile(r"\r?\n")


@dataclass(frozen=True)
class Part:
    """One call of a batch, as sent."""

    content_id: str | None
    """The part's `Content-ID` header, as sent (e.g. `<uuid + 1>`)."""
    method: str
    path: str
    """Raw (percent-encoded) path, e.g. `/storage/v1/b/my%2Dbucket/iam`."""
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


def invalid(message: str) -> ApiError:
    """A 400 about the batch (reason `invalid`)."""
    return ApiError("INVALID_ARGUMENT", message, http=400, legacy_reason="invalid")


def outside(endpoint: Endpoint, part: Part) -> ApiError:
    """The answer to a call that is not one of the endpoint's API."""
    return invalid(
        f"{part.method} {part.path} is not a {endpoint.title} call: every call in a batch sent "
        f"to {endpoint.path} must be one (a path under {endpoint.prefix})."
    )


def parse(body: bytes, content_type: str, max_calls: int) -> list[Part]:
    """The calls of a batch body, in order. Raises a 400 `ApiError` (nothing may run then)
    when the body is not a `multipart/mixed` batch of `application/http` requests, holds more
    than `max_calls` calls, none, or MAX_BYTES or more."""
    if len(body) >= MAX_BYTES:
        raise invalid(
            f"The batch request is {len(body)} bytes; a batch request must be smaller than "
            f"{MAX_BYTES} bytes."
        )
    media_type, params = content_type_params(content_type or "text/plain")
    boundary = params.get("boundary", "")
    if media_type != "multipart/mixed" or not boundary:
        raise invalid(
            "A batch request must have Content-Type multipart/mixed with a boundary, "
            f"not {content_type or 'none'}."
        )
    chunks = _split(body, boundary.encode("latin-1"))
    if not chunks:
        raise invalid("The batch request contains no calls.")
    if len(chunks) > max_calls:
        raise invalid(
            f"The batch request contains {len(chunks)} calls; a batch request can contain at "
            f"most {max_calls}."
        )
    return [_part(number, chunk) for number, chunk in enumerate(chunks, start=1)]


def _split(body: bytes, boundary: bytes) -> list[bytes]:
    """The parts between the boundary delimiters (RFC 2046: the line break before a delimiter
    belongs to it). Without a close delimiter, the last part runs to the end of the body.

    A delimiter is `--BOUNDARY` at the start of the body or of a line, maybe `--` (the close
    delimiter), maybe spaces or tabs, then a line end or the end of the body."""
    marker = b"--" + boundary
    chunks: list[bytes] = []
    start: int | None = None
    found = body.find(marker)
    while found >= 0:
        after = found + len(marker)
        close = body.startswith(b"--", after)
        end = after + 2 if close else after
        while body[end : end + 1] in (b" ", b"\t"):
            end += 1
        line_end = 2 if body.startswith(b"\r\n", end) else 1 if body.startswith(b"\n", end) else 0
        # the line break before a delimiter is its own (not the previous delimiter's)
        at_line_start = found == 0 or (body[found - 1] == 0x0A and found - 1 >= (start or 0))
        if at_line_start and (line_end or end == len(body)):
            if start is not None:
                before = 2 if body[found - 2 : found] == b"\r\n" else 1 if found else 0
                chunks.append(body[start : found - before])
            if close:
                return chunks
            start = end + line_end
            found = body.find(marker, start)
        else:
            found = body.find(marker, found + 1)
    if start is not None:
        chunks.append(body[start:])
    return chunks


def _part(number: int, chunk: bytes) -> Part:
    head, payload = _split_message(chunk)
    part_headers = _headers(head, number)
    part_type = _header(part_headers, "content-type") or ""
    if part_type.partition(";")[0].strip().lower() != "application/http":
        raise invalid(
            f"Part {number} of the batch request has Content-Type {part_type or 'none'}; every "
            "part must be application/http."
        )
    request_line, _, rest = payload.partition(b"\n")
    matched = _REQUEST_LINE.match(request_line.decode("latin-1").rstrip("\r"))
    if matched is None:
        raise invalid(f"Part {number} of the batch request does not start with a request line.")
    method, target = matched.groups()
    if target.startswith(("http://", "https://")):
        split = urlsplit(target)
        target = split.path + (f"?{split.query}" if split.query else "")
    if not target.startswith("/"):
        raise invalid(f"Part {number} of the batch request has the request target {target}.")
    path, _, query = target.partition("?")
    inner_head, inner_body = _split_message(rest)
    return Part(
        content_id=_header(part_headers, "content-id"),
        method=method,
        path=path,
        query=query,
        headers=tuple(_headers(inner_head, number)),
        body=inner_body,
    )


def _split_message(data: bytes) -> tuple[list[str], bytes]:
    """The header lines and the body of a message whose lines end in CRLF or LF."""
    for blank in (b"\r\n", b"\n"):
        if data.startswith(blank):
            return [], data[len(blank) :]
    found = _BLANK_LINE.search(data)
    head, body = (data, b"") if found is None else (data[: found.start()], data[found.end() :])
    text = head.decode("latin-1")
    return ([] if not text.strip() else _LINE_END.split(text.rstrip("\r\n"))), body


def _headers(lines: Iterable[str], number: int) -> list[tuple[str, str]]:
    """(name, value) pairs in order; folded lines are joined to the header they continue."""
    headers: list[tuple[str, str]] = []
    for line in lines:
        if line[:1] in (" ", "\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise invalid(f"Part {number} of the batch request has a malformed header: {line}")
        headers.append((name, value.strip()))
    return headers


def _header(headers: Iterable[tuple[str, str]], wanted: str) -> str | None:
    for name, value in headers:
        if name.lower() == wanted:
            return value
    return None


def shared_environ(outer: Mapping[str, Any]) -> dict[str, Any]:
    """What every call's environ takes from the batch's: its connection and the headers its
    calls inherit (see `part_environ`)."""
    environ = {key: outer[key] for key in CARRIED_ENVIRON if key in outer}
    environ.update({key: value for key, value in outer.items() if _inherited(key)})
    return environ


def part_environ(shared: Mapping[str, Any], part: Part) -> dict[str, Any]:
    """The WSGI environ of one call: the batch's connection and headers (`shared`, from
    `shared_environ`), overridden by the call's own method, path, query, headers and body."""
    environ = dict(shared)
    own: dict[str, list[str]] = {}
    for name, value in part.headers:
        key = name.upper().replace("-", "_")
        if key in ("HOST", "CONTENT_LENGTH"):
            continue
        own.setdefault(key if key == "CONTENT_TYPE" else f"HTTP_{key}", []).append(value)
    environ.update({key: ", ".join(values) for key, values in own.items()})
    target = part.path + (f"?{part.query}" if part.query else "")
    environ.update(
        {
            "REQUEST_METHOD": part.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(part.path).decode("latin-1"),
            "QUERY_STRING": part.query,
            "REQUEST_URI": target,
            "RAW_URI": target,
            "CONTENT_LENGTH": str(len(part.body)),
            "wsgi.input": io.BytesIO(part.body),
        }
    )
    return environ


def _inherited(key: str) -> bool:
    """Whether the batch's environ entry `key` is a header its calls inherit."""
    return (
        key.startswith("HTTP_")
        and not key.startswith("HTTP_CONTENT_")
        and key not in _NOT_INHERITED
    )


def render(answers: Iterable[tuple[Part, WsgiAnswer, Mapping[str, Any]]]) -> tuple[bytes, str]:
    """The batch's answer from each call's (part, answer, environ): returns (body,
    Content-Type). Each call's answer is rendered as it would go on the wire by itself."""
    boundary = f"batch_{uuid.uuid4().hex}"
    chunks: list[bytes] = []
    for part, answer, environ in answers:
        head = [f"--{boundary}", "Content-Type: application/http"]
        if part.content_id is not None:
            head.append(f"Content-ID: {_response_id(part.content_id)}")
        status, headers, body = _materialised(answer, environ)
        head += ["", f"HTTP/1.1 {status}"]
        head += [f"{name}: {value}" for name, value in headers]
        chunks.append(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        chunks.append(body)
        chunks.append(b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode("latin-1"))
    return b"".join(chunks), f"multipart/mixed; boundary={boundary}"


def _response_id(content_id: str) -> str:
    """`<X>` -> `<response-X>` (and `X` -> `response-X`)."""
    if content_id.startswith("<") and content_id.endswith(">"):
        return f"<response-{content_id[1:-1]}>"
    return f"response-{content_id}"


def _materialised(
    answer: WsgiAnswer, environ: Mapping[str, Any]
) -> tuple[str, list[tuple[str, str]], bytes]:
    """(`200 OK`-style status, headers, body) of an answer, by calling it as WSGI does."""
    started: list[tuple[str, list[tuple[str, str]]]] = []
    chunks: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        del exc_info
        started.append((status, headers))
        return chunks.append

    iterable = answer(dict(environ), start_response)
    try:
        chunks.extend(iterable)
    finally:
        close = getattr(iterable, "close", None)
        if close is not None:
            close()
    status, headers = started[0]
    code_text, _, werkzeug_reason = status.partition(" ")
    try:
        reason = HTTPStatus(int(code_text)).phrase
    except ValueError:
        reason = werkzeug_reason
    return f"{code_text} {reason}", list(headers), b"".join(chunks)
