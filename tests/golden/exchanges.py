"""Recorded HTTP exchanges in the golden files' text format (see README.md), and how two JSON
answers compare in shape."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

SEPARATOR = "\n---\n"
_STATUS_LINE = re.compile(r"^(\d{3}) (.*)$")
_REQUEST_LINE = re.compile(r"^(GET|POST|PUT|PATCH|DELETE|HEAD) (\S+)$")
PLACEHOLDER = re.compile(r"\$\{(\w+)\}")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
DECIMAL = re.compile(r"^-?\d+$")
NORMALISED_ID = re.compile(r"^0+$")
"""An id the recorder replaced by zeros whatever its form (a bucket's `id` is its name)."""


@dataclass
class Exchange:
    method: str
    url: str
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    request_body: str = ""
    status: int = 0
    reason: str = ""
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: str = ""

    def response_json(self) -> Any:
        return json.loads(self.response_body) if self.response_body.strip() else None

    def answer(self) -> Any:
        """The answer's JSON, or None when it has none (empty, or not JSON)."""
        try:
            return self.response_json()
        except ValueError:
            return None


def parse(text: str) -> list[Exchange]:
    """The exchanges of one golden file."""
    return [_exchange(block) for block in text.split(SEPARATOR) if block.strip()]


def _exchange(block: str) -> Exchange:
    lines = block.strip("\n").split("\n")
    request = _REQUEST_LINE.match(lines[0])
    if request is None:
        raise ValueError(f"not a request line: {lines[0]!r}")
    exchange = Exchange(request.group(1), request.group(2))
    index, exchange.request_headers = _headers(lines, 1)
    status_at = next(i for i in range(index, len(lines)) if _STATUS_LINE.match(lines[i]))
    exchange.request_body = "\n".join(lines[index:status_at]).strip()
    status = _STATUS_LINE.match(lines[status_at])
    assert status is not None
    exchange.status, exchange.reason = int(status.group(1)), status.group(2)
    index, exchange.response_headers = _headers(lines, status_at + 1)
    exchange.response_body = "\n".join(lines[index:]).strip()
    return exchange


def _headers(lines: list[str], start: int) -> tuple[int, list[tuple[str, str]]]:
    headers = []
    index = start
    while index < len(lines) and lines[index].strip():
        name, _, value = lines[index].partition(":")
        headers.append((name.strip(), value.strip()))
        index += 1
    return index + 1, headers


def render(exchanges: list[Exchange]) -> str:
    """Exchanges as a golden file."""
    blocks = []
    for exchange in exchanges:
        parts = [f"{exchange.method} {exchange.url}"]
        parts += [f"{name}: {value}" for name, value in exchange.request_headers]
        parts += ["", exchange.request_body, "", f"{exchange.status} {exchange.reason}"]
        parts += [f"{name}: {value}" for name, value in exchange.response_headers]
        parts += ["", exchange.response_body]
        blocks.append("\n".join(parts).rstrip("\n") + "\n")
    return SEPARATOR.join(blocks)


def substitute(text: str, values: dict[str, str]) -> str:
    """`text` with each `${name}` replaced by `values[name]` (unknown names stay)."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def learn(recorded: Any, actual: Any, values: dict[str, str]) -> None:
    """Bind the placeholders of a recorded answer to what the actual answer has in their
    place (`"name": "operations/${operationID}"` binds `operationID`); a placeholder seen
    again takes its latest value, as recordings reuse `${operationID}` for each operation."""
    if isinstance(recorded, dict) and isinstance(actual, dict):
        for key in recorded.keys() & actual.keys():
            learn(recorded[key], actual[key], values)
    elif isinstance(recorded, list) and isinstance(actual, list):
        for a, b in zip(recorded, actual, strict=False):
            learn(a, b, values)
    elif isinstance(recorded, str) and isinstance(actual, str) and "${" in recorded:
        match = _template(recorded).match(actual)
        if match is not None:
            values.update(match.groupdict())


def _template(text: str) -> re.Pattern[str]:
    pattern, position, seen = "", 0, set()
    for match in PLACEHOLDER.finditer(text):
        name = match.group(1)
        pattern += re.escape(text[position : match.start()])
        pattern += f"(?P={name})" if name in seen else f"(?P<{name}>[^/]+?)"
        seen.add(name)
        position = match.end()
    return re.compile("^" + pattern + re.escape(text[position:]) + "$")


def shape_differences(recorded: Any, actual: Any, path: str = "") -> Iterator[str]:
    """How `actual` differs in shape from `recorded`: fields present at each level, JSON types,
    and the form of strings that are 64-bit integers or times."""
    where = path or "(body)"
    if isinstance(recorded, dict) and isinstance(actual, dict):
        yield from _object_differences(recorded, actual, path)
    elif isinstance(recorded, list) and isinstance(actual, list):
        if len(recorded) != len(actual):
            yield f"{where}: Google sends {len(recorded)} items, the emulator {len(actual)}"
        for index, (a, b) in enumerate(zip(recorded, actual, strict=False)):
            yield from shape_differences(a, b, f"{path}[{index}]")
    elif _kind(recorded) != _kind(actual):
        yield f"{where}: Google sends {_kind(recorded)}, the emulator {_kind(actual)}"
    elif isinstance(recorded, str) and isinstance(actual, str):
        yield from _string_differences(recorded, actual, where)


def _object_differences(
    recorded: dict[str, Any], actual: dict[str, Any], path: str
) -> Iterator[str]:
    for key in sorted(set(recorded) - set(actual)):
        yield f"{_join(path, key)}: Google sends it, the emulator does not"
    for key in sorted(set(actual) - set(recorded)):
        yield f"{_join(path, key)}: the emulator sends it, Google does not"
    for key in sorted(set(recorded) & set(actual)):
        yield from shape_differences(recorded[key], actual[key], _join(path, key))


def _string_differences(recorded: str, actual: str, where: str) -> Iterator[str]:
    if NORMALISED_ID.match(recorded):
        return
    for form, pattern in (("an RFC 3339 time", RFC3339), ("a decimal integer", DECIMAL)):
        if pattern.match(recorded) and not pattern.match(actual):
            yield f"{where}: Google sends {form}, the emulator {actual!r}"


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "null"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
