"""Turn Google's wire errors into `provision.errors.GoogleApiError`.

Two envelope dialects exist: the ESF/"Cloud" one (`status`, `details[]` with `ErrorInfo`,
`RetryInfo`, ...; sometimes a legacy `errors[]` too) and Cloud Storage's (`errors[]` only).
`parse_error_body` handles both and is pure; `from_http_error` and `from_transport_error` adapt
what the client library raises.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Mapping
from typing import Any

from provision.errors import GoogleApiError

ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"

TRANSPORT_REASON = "TRANSPORT_ERROR"
"""`reason` of errors raised before any HTTP status was received (reset, timeout)."""
CONNECTION_REFUSED = "CONNECTION_REFUSED"
"""`reason` when nothing listens at the endpoint."""
HOST_NOT_FOUND = "HOST_NOT_FOUND"
"""`reason` when the endpoint's host name does not resolve."""

# google.rpc.Code number -> (name, HTTP status)
RPC_CODES: Mapping[int, tuple[str, int]] = {
    0: ("OK", 200),
    1: ("CANCELLED", 499),
    2: ("UNKNOWN", 500),
    3: ("INVALID_ARGUMENT", 400),
    4: ("DEADLINE_EXCEEDED", 504),
    5: ("NOT_FOUND", 404),
    6: ("ALREADY_EXISTS", 409),
    7: ("PERMISSION_DENIED", 403),
    8: ("RESOURCE_EXHAUSTED", 429),
    9: ("FAILED_PRECONDITION", 400),
    10: ("ABORTED", 409),
    11: ("OUT_OF_RANGE", 400),
    12: ("UNIMPLEMENTED", 501),
    13: ("INTERNAL", 500),
    14: ("UNAVAILABLE", 503),
    15: ("DATA_LOSS", 500),
    16: ("UNAUTHENTICATED", 401),
}

# HTTP status -> canonical status, used when the envelope has none (Cloud Storage).
HTTP_TO_STATUS: Mapping[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    409: "ALREADY_EXISTS",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

_TOKEN_PATTERN = re.compile(r"(ya29\.[\w.-]+|Bearer\s+[\w.-]+|\"access_token\"\s*:\s*\"[^\"]*\")")


def redact(text: str) -> str:
    """Remove anything that looks like an OAuth access token from a message."""
    return _TOKEN_PATTERN.sub("[redacted]", text)


def parse_error_body(
    http_status: int, body: bytes | str, *, method: str = "", http_reason: str = ""
) -> GoogleApiError:
    """Build a GoogleApiError from an HTTP status and a response body of either dialect."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    envelope: Any = None
    try:
        envelope = json.loads(text) if text.strip() else None
    except ValueError:
        envelope = None
    if isinstance(envelope, list) and envelope:  # batch-style array of envelopes
        envelope = envelope[0]
    error = envelope.get("error") if isinstance(envelope, dict) else None
    if not isinstance(error, dict):
        message = text.strip()[:500] or http_reason or f"HTTP {http_status}"
        return GoogleApiError(
            http_status=http_status,
            status=HTTP_TO_STATUS.get(http_status, ""),
            message=redact(message),
            method=method,
        )
    status = error.get("status")
    if not isinstance(status, str) or not status:
        status = HTTP_TO_STATUS.get(http_status, "")
    raw_details = error.get("details")
    details: list[Mapping[str, Any]] = (
        [d for d in raw_details if isinstance(d, dict)] if isinstance(raw_details, list) else []
    )
    legacy = error.get("errors")
    legacy_reason = ""
    if isinstance(legacy, list) and legacy and isinstance(legacy[0], dict):
        legacy_reason = str(legacy[0].get("reason") or "")
    info = _first_of_type(details, ERROR_INFO)
    reason = str(info.get("reason") or "") if info else ""
    raw_message = error.get("message")
    message = raw_message if isinstance(raw_message, str) and raw_message else ""
    return GoogleApiError(
        http_status=http_status,
        status=status,
        message=redact(message or http_reason or f"HTTP {http_status}"),
        reason=reason or legacy_reason,
        method=method,
        details=details,
    )


def from_operation_error(error: Mapping[str, Any], *, method: str = "") -> GoogleApiError:
    """A finished long-running operation's `error` (a google.rpc.Status) as a GoogleApiError."""
    code = error.get("code")
    name, http_status = (
        RPC_CODES.get(code, ("UNKNOWN", 500))
        if isinstance(code, int)
        else (
            "UNKNOWN",
            500,
        )
    )
    raw_details = error.get("details")
    details: list[Mapping[str, Any]] = (
        [d for d in raw_details if isinstance(d, dict)] if isinstance(raw_details, list) else []
    )
    info = _first_of_type(details, ERROR_INFO)
    return GoogleApiError(
        http_status=http_status,
        status=name,
        message=redact(str(error.get("message") or "operation failed")),
        reason=str(info.get("reason") or "") if info else "",
        method=method,
        details=details,
    )


def from_transport_error(
    error: BaseException, *, method: str = "", where: str = ""
) -> GoogleApiError:
    """A connection reset, timeout or refused connection, before any HTTP status arrived.

    `where` (scheme://host:port) is named in the message. A refused connection and a host name
    that does not resolve get their own reasons (`CONNECTION_REFUSED`, `HOST_NOT_FOUND`): they
    are not passing faults, so the retry table fails them at once.
    """
    kind = type(error).__name__
    text = str(error) or kind
    reason = TRANSPORT_REASON
    if isinstance(error, ConnectionRefusedError):
        reason = CONNECTION_REFUSED
    elif _host_not_found(error):
        reason = HOST_NOT_FOUND
    at = f" at {where}" if where else ""
    return GoogleApiError(
        http_status=0,
        status="UNAVAILABLE",
        message=redact(f"no answer{at}: {kind}: {text}"),
        reason=reason,
        method=method,
    )


def _host_not_found(error: BaseException) -> bool:
    """httplib2's ServerNotFoundError, or a resolver error that is not a temporary one."""
    if type(error).__name__ == "ServerNotFoundError":
        return True
    return isinstance(error, socket.gaierror) and error.errno in (
        socket.EAI_NONAME,
        getattr(socket, "EAI_NODATA", socket.EAI_NONAME),
    )


def error_info(error: GoogleApiError) -> Mapping[str, Any] | None:
    """The first `google.rpc.ErrorInfo` detail, if any."""
    return _first_of_type(error.details, ERROR_INFO)


def retry_delay(error: GoogleApiError) -> float | None:
    """`RetryInfo.retryDelay` in seconds (e.g. "1.5s"), if the server sent one."""
    info = _first_of_type(error.details, RETRY_INFO)
    if not info:
        return None
    value = info.get("retryDelay")
    if isinstance(value, str) and value.endswith("s"):
        try:
            return max(0.0, float(value[:-1]))
        except ValueError:
            return None
    if isinstance(value, dict):  # {"seconds": .., "nanos": ..}
        seconds = float(value.get("seconds", 0) or 0)
        nanos = float(value.get("nanos", 0) or 0)
        return max(0.0, seconds + nanos / 1e9)
    return None


def _first_of_type(details: list[Mapping[str, Any]], type_url: str) -> Mapping[str, Any] | None:
    for detail in details:
        if detail.get("@type") == type_url:
            return detail
    return None
