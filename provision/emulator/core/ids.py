"""Deterministic ids, numbers and etags, reseeded by `POST /_emulator/seed`."""

from __future__ import annotations

import base64
import random
import threading


class Ids:
    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        with self._lock:
            self._random = random.Random(seed)

    def digits(self, count: int) -> str:
        """A decimal string of `count` digits with no leading zero."""
        with self._lock:
            first = self._random.randint(1, 9)
            rest = "".join(str(self._random.randint(0, 9)) for _ in range(count - 1))
        return f"{first}{rest}"

    def hex(self, count: int) -> str:
        with self._lock:
            return "".join(self._random.choice("0123456789abcdef") for _ in range(count))

    def uuid(self) -> str:
        h = self.hex(32)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def policy_etag(revision: int) -> str:
    """IAM policy etag for a revision: base64 of a protobuf varint (`CAE=` for 1, `CAI=` for 2)."""
    payload = bytearray([0x08])
    value = revision
    while True:
        byte = value & 0x7F
        value >>= 7
        payload.append(byte | (0x80 if value else 0))
        if not value:
            break
    return base64.b64encode(bytes(payload)).decode()
