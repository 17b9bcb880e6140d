"""Turn a raw recording (`PROVISION_RECORD`) into a replayable case: the values of the recorded
run become placeholders that the replay fills in again.

* `literals` (e.g. the project id, billing account, parent) are replaced wherever they appear
  by `${name}`; the replay gives each name a value of its own;
* every value that Google made up (it first appears in an answer, e.g. an etag, an operation
  name, a generation, a project number) becomes `${vN}` everywhere; the replay learns each from
  the emulator's answer in the same place (`exchanges.learn`), and sends it back where the
  recorded run did.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from tests.golden import exchanges

MIN_TOKEN = 6
"""Shorter answer values (`1`, `true`, `US`) are too common to stand for one made-up value."""
_WORDS = frozenset({"ACTIVE", "ENABLED", "DISABLED", "STANDARD", "inherited", "DEFAULT"})
_COLLECTION = re.compile(r"^[a-z][A-Za-z0-9]*s$")
"""A collection segment of a resource name (`projects`, `dicomStores`, `operations`)."""


def normalise(text: str, literals: Mapping[str, str]) -> str:
    """A recording with `literals` (value -> placeholder name) and made-up values replaced."""
    for value, name in sorted(literals.items(), key=lambda item: -len(item[0])):
        text = text.replace(value, "${" + name + "}")
    tokens: dict[str, str] = {}
    sent = ""
    for exchange in exchanges.parse(text):
        sent += exchange.url + "\n" + exchange.request_body + "\n"
        for value in _answer_strings(exchange.answer()):
            if value in tokens or value in _WORDS or len(value) < MIN_TOKEN:
                continue
            if "${" in value or " " in value or _COLLECTION.match(value) or value in sent:
                continue
            tokens[value] = f"v{len(tokens) + 1}"
    for value, name in sorted(tokens.items(), key=lambda item: -len(item[0])):
        text = _bounded(value).sub("${" + name + "}", text)
    return text


def _bounded(value: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z0-9_.-]){re.escape(value)}(?![A-Za-z0-9_=-])")


def _answer_strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _answer_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _answer_strings(item)
    elif isinstance(value, str):
        yield from _name_parts(value)


def _name_parts(value: str) -> Iterator[str]:
    """A resource name's segments (`projects/123/operations/abc` -> `123`, `abc`), or the value."""
    if "/" in value and not value.startswith("http"):
        yield from (part for part in value.split("/") if part)
    else:
        yield value
