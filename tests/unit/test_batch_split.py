"""The emulator's batch splitter against the RFC 2046 delimiter rule written as a regex: the
same parts for every body built from delimiter-ish pieces (`core.batch._split`)."""

from __future__ import annotations

import random
import re

from provision.emulator.core import batch

PIECES = (b"--b", b"--", b"\r\n", b"\n", b" ", b"\t", b"x", b"b", b"-")


def by_the_rule(body: bytes, boundary: bytes) -> list[bytes]:
    """A delimiter: start of body or a line break (its own), `--boundary`, maybe `--` (close),
    spaces or tabs, a line end or the end of the body."""
    delimiter = re.compile(
        rb"(?:\A|\r?\n)--" + re.escape(boundary) + rb"(?P<close>--)?[ \t]*(?:\r?\n|\Z)"
    )
    chunks: list[bytes] = []
    start: int | None = None
    for match in delimiter.finditer(body):
        if start is not None:
            chunks.append(body[start : match.start()])
        if match.group("close"):
            return chunks
        start = match.end()
    if start is not None:
        chunks.append(body[start:])
    return chunks


def test_the_splitter_follows_the_delimiter_rule() -> None:
    rng = random.Random(20261202)
    for _ in range(30_000):
        body = b"".join(rng.choice(PIECES) for _ in range(rng.randint(0, 12)))
        assert batch._split(body, b"b") == by_the_rule(body, b"b"), body


def test_a_client_librarys_batch_splits_into_its_parts() -> None:
    body = b"--b\nContent-Type: application/http\n\nGET /v1/x HTTP/1.1\n\n\n--b\r\n\r\nY\r\n--b--"
    assert batch._split(body, b"b") == [
        b"Content-Type: application/http\n\nGET /v1/x HTTP/1.1\n\n",
        b"\r\nY",
    ]
