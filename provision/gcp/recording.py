"""Recording every HTTP exchange with Google to a file, for fidelity checks against the emulator.

With `PROVISION_RECORD=FILE` set, each request the tool sends through `GoogleApi` (through
httplib2, or the `requests` session of the Resource Manager client) and the answer it gets are
appended to FILE in the text format of the project's recorded exchanges
(`tests/golden/README.md`): request line, headers, body; status line, headers, body; exchanges
separated by `---`. Credentials never reach the file: `Authorization` and other credential
headers are written as `(removed)`, credential query parameters as `[redacted]`, and JSON fields
that hold keys or tokens (`private_key`, `access_token`, `refresh_token`, ...) as `(removed)`.
Token requests are not recorded at all: they are sent by the credentials beneath this layer.
Bodies that are not UTF-8 text are written in base64 with the header `X-Recorded-Body: base64`.
The bodies themselves are recorded as sent and answered, DICOM instances and their metadata
included, so the file is created readable by its owner only.

While recording, exchanges happen one at a time (`Recorder.one_at_a_time`): of two concurrent
requests the file could not say which the server answered first, and a replay, which sends
them in the file's order, depends on it. A recorded run is therefore slower than an unrecorded
one.
"""

from __future__ import annotations

import base64
import json
import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

RECORD_ENV = "PROVISION_RECORD"
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-goog-api-key", "cookie", "set-cookie"}
)
SECRET_FIELDS = frozenset(
    {
        "access_token",
        "accessToken",
        "refresh_token",
        "refreshToken",
        "id_token",
        "idToken",
        "private_key",
        "privateKey",
        "privateKeyData",
        "client_secret",
        "clientSecret",
        "assertion",
    }
)
BODY_ENCODING = "X-Recorded-Body"
_SECRET_QUERY = re.compile(r"(?i)([?&](?:access_token|key|token|signature|x-goog-signature)=)[^&]*")
SEPARATOR = "\n---\n\n"


def redacted_url(url: str) -> str:
    """`url` with credentials that may travel in a query string redacted."""
    return _SECRET_QUERY.sub(r"\1[redacted]", url)


class Recorder:
    """Appends exchanges to one file; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.one_at_a_time = threading.Lock()
        """Held around each recorded exchange, from sending the request to recording it."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Recorder | None:
        value = (os.environ if environ is None else environ).get(RECORD_ENV, "")
        return cls(Path(value)) if value else None

    def wrap(self, http: Any) -> RecordingHttp:
        return RecordingHttp(http, self)

    def record(
        self,
        method: str,
        uri: str,
        headers: Mapping[str, str],
        body: Any,
        response: Mapping[str, Any],
        content: Any,
        *,
        reason: str | None = None,
    ) -> None:
        """Append one exchange. `response`: the status (`status`) and the headers, by
        lower-case name, as httplib2 answers them; `reason`: the status line's phrase (default:
        the response's own `reason`)."""
        status = int(response.get("status", 0))
        if reason is None:
            reason = str(getattr(response, "reason", "") or "")
        request_headers = {k: str(v) for k, v in headers.items()}
        response_headers = {
            k: str(v) for k, v in response.items() if k not in ("status", "content-location")
        }
        block = "\n".join(
            [
                f"{method} {redacted_url(uri)}",
                *_section(request_headers, body),
                "",
                f"{status} {reason}".rstrip(),
                *_section(response_headers, content),
            ]
        )
        with self._lock:
            first = not self.path.exists() or self.path.stat().st_size == 0
            # owner-only: a recording holds what the exchanges carried (DICOM data included)
            descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(descriptor, "a", encoding="utf-8") as out:
                out.write(("" if first else SEPARATOR) + block.rstrip("\n") + "\n")


class RecordingHttp:
    """An authorised `Http` whose exchanges are recorded (everything else is the wrapped one's)."""

    def __init__(self, http: Any, recorder: Recorder) -> None:
        self._http = http
        self._recorder = recorder

    def request(
        self,
        uri: str,
        method: str = "GET",
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        with self._recorder.one_at_a_time:
            response, content = self._http.request(
                uri, method=method, body=body, headers=headers, **kwargs
            )
            self._recorder.record(method, uri, dict(headers or {}), body, response, content)
        return response, content

    def __getattr__(self, name: str) -> Any:
        return getattr(self._http, name)


def _section(headers: Mapping[str, str], body: Any) -> list[str]:
    """Header lines (credentials removed), a blank line, and the body as text."""
    text, encoded = _body_text(body)
    lines = [
        f"{name}: {'(removed)' if name.lower() in SECRET_HEADERS else value}"
        for name, value in sorted(headers.items())
    ]
    if encoded:
        lines.append(f"{BODY_ENCODING}: base64")
    return [*lines, "", text]


def _body_text(body: Any) -> tuple[str, bool]:
    if body is None:
        return "", False
    data = body.encode() if isinstance(body, str) else bytes(body)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii"), True
    try:
        value = json.loads(text)
    except ValueError:
        return text, False
    return json.dumps(_redacted(value), indent=2, sort_keys=True), False


def _redacted(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: "(removed)" if key in SECRET_FIELDS else _redacted(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_redacted(item) for item in value]
    return value
