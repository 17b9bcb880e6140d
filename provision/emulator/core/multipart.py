"""multipart/related bodies: parsing STOW-RS requests and building WADO-RS answers."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from email.message import Message

from provision.emulator.core.errors import ApiError


def content_type_params(header: str) -> tuple[str, dict[str, str]]:
    """Split `type/subtype; a=b; c="d"` into the media type and its parameters."""
    message = Message()
    message["content-type"] = header
    params = {key.lower(): value for key, value in message.get_params(failobj=[])[1:]}
    return message.get_content_type(), params


def parse(body: bytes, content_type: str) -> list[tuple[dict[str, str], bytes]]:
    """The parts of a multipart/related body: (lower-cased headers, payload) each.

    Lines may end in CRLF (RFC 2046) or in a bare LF, as google-api-python-client frames its
    multipart uploads (Python's email generator) and Google accepts; the line break after the
    first delimiter says which one the whole body uses."""
    _, params = content_type_params(content_type)
    boundary = params.get("boundary")
    if not boundary:
        raise ApiError("INVALID_ARGUMENT", "multipart/related request without a boundary.")
    delimiter = b"--" + boundary.encode()
    chunks = body.split(delimiter)[1:]
    newline = b"\n" if chunks and chunks[0].startswith(b"\n") else b"\r\n"
    parts: list[tuple[dict[str, str], bytes]] = []
    for chunk in chunks:
        if chunk.startswith(b"--"):
            break
        # a part without headers starts with the blank line that ends them
        head, separator, payload = (newline + chunk.removeprefix(newline)).partition(newline * 2)
        if not separator:
            raise ApiError("INVALID_ARGUMENT", "malformed multipart/related part.")
        headers: dict[str, str] = {}
        for line in head.decode("latin-1").splitlines():
            name, colon, value = line.partition(":")
            if colon:
                headers[name.strip().lower()] = value.strip()
        parts.append((headers, payload.removesuffix(newline)))
    return parts


def build(
    parts: Iterable[tuple[str, bytes] | tuple[str, bytes, Mapping[str, str]]], part_type: str
) -> tuple[bytes, str]:
    """A multipart/related body of (content type, payload[, more headers]) parts; returns
    (body, content type)."""
    boundary = uuid.uuid4().hex
    chunks: list[bytes] = []
    for content_type, payload, *more in parts:
        headers = "".join(f"{name}: {value}\r\n" for extra in more for name, value in extra.items())
        chunks.append(f"--{boundary}\r\nContent-Type: {content_type}\r\n{headers}\r\n".encode())
        chunks.append(payload)
        chunks.append(b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    header = f'multipart/related; type="{part_type}"; boundary={boundary}'
    return b"".join(chunks), header
