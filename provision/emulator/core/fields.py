"""Partial responses: the `fields` system parameter, which every Google JSON API honours.

Syntax (Google's "partial response" guide, e.g. developers.google.com/*/performance):
`a,b` selects several fields; `a/b` a field nested in `a`; `a(b,c)` several fields inside `a`
(nested to any depth, e.g. `items(name,metadata/state)`); `*` every field at its level. A
selection inside an array applies to each element. Only the selected fields and the objects
enclosing them are answered; an object left with none of its selected fields is left out.

Google also refuses (400) a selection naming a field its response schema does not have; the
emulator does not look at schemas, so such a field is just absent from the answer. Only the
syntax is checked here ("Invalid field selection ..."; Google's exact wording is not known).
"""

from __future__ import annotations

from typing import Any

from provision.emulator.core.errors import ApiError
from provision.emulator.core.routing import JSON, Reply

Selection = dict[str, "Selection | None"]
"""Field name (or `*`) -> what is selected inside it; None selects the whole value."""

_SPECIAL = frozenset(",()/")
_ABSENT = object()


def select(result: Any, fields: str | None) -> Any:
    """A handler's result as answered with `?fields=`: a JSON object (plain or in a JSON
    `Reply`) cut down to the selection; anything else (media, arrays, empty answers, werkzeug
    responses) as it is. Raises a 400 ApiError for a malformed selection."""
    if not fields:
        return result
    selection = parse(fields)
    if isinstance(result, dict):
        return apply(result, selection)
    if isinstance(result, Reply) and result.content_type == JSON and isinstance(result.body, dict):
        return Reply(
            result.status, apply(result.body, selection), result.content_type, result.headers
        )
    return result


def parse(text: str) -> Selection:
    """The selection a `fields` value describes; 400 when it is malformed."""
    parser = _Parser(text)
    selection = parser.selection()
    if parser.position != len(text):
        raise _invalid(text)
    return selection


def apply(value: dict[str, Any], selection: Selection) -> dict[str, Any]:
    """The selected part of a JSON object (`{}` when nothing selected is present)."""
    kept = _apply(value, selection)
    return kept if isinstance(kept, dict) else {}


def _apply(value: Any, selection: Selection) -> Any:
    if isinstance(value, list):
        items = [_apply(item, selection) for item in value]
        kept = [item for item in items if item is not _ABSENT]
        return kept or _ABSENT
    if not isinstance(value, dict):
        return _ABSENT  # a scalar has no fields to select
    out: dict[str, Any] = {}
    every = selection.get("*", {})  # `*` alone selects every value whole
    for key, item in value.items():
        if key not in selection and "*" not in selection:
            continue
        inner = None if every is None else selection.get(key, every)
        kept = item if inner is None else _apply(item, inner)
        if kept is not _ABSENT:
            out[key] = kept
    return out or _ABSENT


class _Parser:
    """Recursive descent over `selection := item ("," item)*`,
    `item := name ("/" name)* ["(" selection ")"]`."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0

    def selection(self) -> Selection:
        selection: Selection = {}
        while True:
            path, inner = self.item()
            _merge(selection, path, inner)
            if not self.take(","):
                return selection

    def item(self) -> tuple[list[str], Selection | None]:
        path = [self.name()]
        while self.take("/"):
            path.append(self.name())
        inner: Selection | None = None
        if self.take("("):
            inner = self.selection()
            if not self.take(")"):
                raise _invalid(self.text)
        return path, inner

    def name(self) -> str:
        start = self.position
        while self.position < len(self.text) and self.text[self.position] not in _SPECIAL:
            self.position += 1
        name = self.text[start : self.position]
        if not name:
            raise _invalid(self.text)
        return name

    def take(self, char: str) -> bool:
        if self.text.startswith(char, self.position):
            self.position += 1
            return True
        return False


def _merge(selection: Selection, path: list[str], inner: Selection | None) -> None:
    """Add `path` (selecting `inner` at its end) to `selection`; a whole value stays whole."""
    head, *rest = path
    if head in selection and selection[head] is None:
        return
    if not rest and inner is None:
        selection[head] = None
        return
    below = selection.setdefault(head, {})
    assert below is not None
    if rest:
        _merge(below, rest, inner)
    elif inner is not None:
        for key, value in inner.items():
            _merge(below, [key], value)


def _invalid(text: str) -> ApiError:
    return ApiError(
        "INVALID_ARGUMENT", f"Invalid field selection {text}", legacy_reason="invalidParameter"
    )
