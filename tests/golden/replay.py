"""Replay a recorded case against the emulator and say how its answers differ from Google's."""

from __future__ import annotations

import base64
import http.client
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from provision.emulator.server import RunningEmulator
from tests.golden import exchanges

RETRIED_BY_THE_TOOL = frozenset({429, 500, 502, 503, 504})
"""Statuses the tool retries: a recorded one marks a moment of Google's (an overload, a
propagation delay), not a shape to compare."""
TIMING_FIELDS = ("done", "response", "error", "metadata")
"""Operation fields that depend on how far an operation got when it was polled."""
NORMALISED_ETAG = "abcdef0123A="
"""The etag Config Connector's recordings put everywhere; a request carrying it is sent with the
etag the emulator answered last for the same object (read-modify-writes send back the etag they
read; in a recording of concurrent requests, another object's answer may come in between)."""


def replay(emulator: RunningEmulator, path: Path, values: dict[str, str]) -> list[str]:
    """Every way the emulator's answers differ from the recorded ones, per exchange, after
    sending the recorded requests in order with `values` for their placeholders."""
    values = dict(values)
    differences: list[str] = []
    for number, exchange in enumerate(exchanges.parse(path.read_text(encoding="utf-8")), 1):
        url = urlsplit(exchanges.substitute(exchange.url, values))
        target = url.path + (f"?{url.query}" if url.query else "")
        etag_key = f"_etag {_object_of(url.path)}"
        status, answer = _send(emulator, exchange, target, values, values.get(etag_key))
        where = f"#{number} {exchange.method} {url.path}"
        recorded = exchange.answer()
        if exchange.status in RETRIED_BY_THE_TOOL or _moment(exchange.status, recorded):
            continue
        if status != exchange.status:
            differences.append(f"{where}: status {status}, Google {exchange.status} ({answer})")
            continue
        if _operations_apart(recorded, answer):
            recorded = {k: v for k, v in recorded.items() if k not in TIMING_FIELDS}
            answer = {k: v for k, v in answer.items() if k not in TIMING_FIELDS}
        if recorded is not None or answer is not None:
            differences += [f"{where}: {d}" for d in exchanges.shape_differences(recorded, answer)]
        exchanges.learn(exchange.answer(), answer, values)
        if isinstance(answer, dict) and isinstance(answer.get("etag"), str):
            values[etag_key] = answer["etag"]
    return differences


def _object_of(path: str) -> str:
    """The object a request reads or writes: its path without a custom verb (`:setIamPolicy`)
    or Cloud Storage's `/iam` sub-resource."""
    return path.split(":", 1)[0].removesuffix("/iam")


def _send(
    emulator: RunningEmulator,
    exchange: exchanges.Exchange,
    target: str,
    values: dict[str, str],
    etag: str | None,
) -> tuple[int, Any]:
    headers = {name.lower(): value for name, value in exchange.request_headers}
    if headers.get("x-recorded-body") == "base64":
        body = base64.b64decode(exchange.request_body)
    else:
        text = exchanges.substitute(exchange.request_body, values)
        body = text.replace(NORMALISED_ETAG, etag or NORMALISED_ETAG).encode()
    sent = {"Content-Type": headers.get("content-type", "application/json")} if body else {}
    connection = http.client.HTTPConnection(urlsplit(emulator.base_url).netloc, timeout=10)
    connection.request(exchange.method, target, body=body or None, headers=sent)
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    try:
        return response.status, json.loads(payload) if payload.strip() else None
    except ValueError:
        return response.status, None


def _operations_apart(recorded: Any, answer: Any) -> bool:
    """Both are operations, and one was further along when polled than the other."""

    def operation(value: Any) -> bool:
        return (
            isinstance(value, dict) and "name" in value and ("done" in value or "metadata" in value)
        )

    return operation(recorded) and operation(answer) and recorded.get("done") != answer.get("done")


def _moment(status: int, recorded: Any) -> bool:
    """An answer that records a moment of the recorded run, which a sequential replay need not
    meet again: a 403 SERVICE_DISABLED right after enabling the API (the tool waits it out), or
    a 409 ABORTED from a concurrent change to the same policy (the tool reads again and retries;
    which of two concurrent requests was answered first is not in the recording)."""
    if not isinstance(recorded, dict):
        return False
    error = recorded.get("error", {})
    if status == 409:
        return bool(error.get("status") == "ABORTED")
    details = error.get("details", []) if status == 403 else []
    return any(isinstance(d, dict) and d.get("reason") == "SERVICE_DISABLED" for d in details)
