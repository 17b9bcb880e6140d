"""List pagination as Google's APIs do it: `pageSize` (default and maximum per method; larger
values are clamped, negative ones rejected) and an opaque `pageToken` that only this emulator
understands. A token from another list, or a forged one, is a 400.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from typing import TypeVar

from provision.emulator.core.errors import invalid_argument

T = TypeVar("T")


def page_size(raw: str | None, *, default: int, maximum: int) -> int:
    """The effective page size for a `pageSize` query value (absent or 0 means `default`)."""
    if raw in (None, ""):
        return default
    try:
        size = int(raw)
    except ValueError:
        raise invalid_argument(f"Invalid value at 'page_size' (TYPE_INT32), \"{raw}\"") from None
    if size < 0:
        raise invalid_argument("The page size must not be negative.")
    if size == 0:
        return default
    return min(size, maximum)


def _token(scope: str, offset: int) -> str:
    digest = hashlib.sha256(f"{scope}|{offset}".encode()).hexdigest()[:8]
    return base64.urlsafe_b64encode(f"{offset}:{digest}".encode()).decode().rstrip("=")


def _offset(scope: str, token: str) -> int:
    try:
        padded = token + "=" * (-len(token) % 4)
        offset_text, _ = base64.urlsafe_b64decode(padded.encode()).decode().split(":", 1)
        offset = int(offset_text)
    except (ValueError, UnicodeDecodeError):
        raise invalid_argument("The page token is invalid.") from None
    if _token(scope, offset) != token:
        raise invalid_argument("The page token is invalid.")
    return offset


def paginate(
    items: Sequence[T],
    *,
    size: int,
    token: str | None,
    scope: str,
) -> tuple[list[T], str | None]:
    """One page of `items` and the token for the next page (None on the last page).

    `scope` ties tokens to one list (e.g. the request path and filter) so a token cannot be
    replayed against another list.
    """
    start = _offset(scope, token) if token else 0
    chunk = list(items[start : start + size])
    end = start + len(chunk)
    return chunk, (_token(scope, end) if end < len(items) else None)
