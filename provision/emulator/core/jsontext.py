"""JSON text exactly as `json.dumps(value, indent=2)` writes it, at a fraction of the cost.

With `indent` set, the standard library encodes in pure Python through a chain of generators
(its C encoder only writes compact JSON on this Python); answers are bodies of a few hundred to a
few thousand tokens, so that chain was a large part of the emulator's time per request. This
encoder builds the same text with one recursive call per container and the C string escaper.
Anything beyond plain JSON types (subclasses, tuples, non-string keys, non-finite floats,
circular references) is left to `json.dumps`, so the output and the errors are always its own.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii
from typing import Any

_escape = encode_basestring_ascii
_float_repr = float.__repr__
_int_repr = int.__repr__
_abs = float.__abs__
_INFINITY = float("inf")


class _UnusualValueError(Exception):
    """A value this encoder leaves to `json.dumps`."""


def dumps_indented(value: Any) -> str:
    """`json.dumps(value, indent=2)`, character for character."""
    try:
        return _encode(value, "\n")
    except (_UnusualValueError, RecursionError):
        return json.dumps(value, indent=2)


def _encode(value: Any, newline: str) -> str:
    kind = type(value)
    if kind is str:
        return _escape(value)
    if kind is dict:
        if not value:
            return "{}"
        inner = newline + "  "
        parts = []
        for key, item in value.items():
            if type(key) is not str:
                raise _UnusualValueError
            item_kind = type(item)
            if item_kind is str:
                parts.append(_escape(key) + ": " + _escape(item))
            else:
                parts.append(_escape(key) + ": " + _encode(item, inner))
        return "{" + inner + ("," + inner).join(parts) + newline + "}"
    if kind is list:
        if not value:
            return "[]"
        inner = newline + "  "
        items = [_escape(item) if type(item) is str else _encode(item, inner) for item in value]
        return "[" + inner + ("," + inner).join(items) + newline + "]"
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int:
        return _int_repr(value)
    if kind is float and _abs(value) < _INFINITY:
        return _float_repr(value)
    raise _UnusualValueError
