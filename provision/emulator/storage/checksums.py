"""Object checksums as Cloud Storage reports them: base64 of the big-endian CRC32C (Castagnoli)
and base64 of the MD5 digest. CRC32C is computed in pure Python (slicing by 8) so the emulator
needs no compiled extension.
"""

from __future__ import annotations

import base64
import hashlib

_POLY = 0x82F63B78  # reflected Castagnoli polynomial


def _tables() -> list[list[int]]:
    first = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY if crc & 1 else crc >> 1
        first.append(crc)
    tables = [first]
    for _ in range(7):
        previous = tables[-1]
        tables.append([(previous[n] >> 8) ^ first[previous[n] & 0xFF] for n in range(256)])
    return tables


_T = _tables()


def crc32c(data: bytes) -> int:
    """The CRC32C of `data`."""
    t0, t1, t2, t3, t4, t5, t6, t7 = _T
    crc = 0xFFFFFFFF
    view = memoryview(data)
    whole = len(view) - len(view) % 8
    for offset in range(0, whole, 8):
        b = view[offset : offset + 8]
        low = crc ^ (b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24)
        crc = (
            t7[low & 0xFF]
            ^ t6[(low >> 8) & 0xFF]
            ^ t5[(low >> 16) & 0xFF]
            ^ t4[low >> 24]
            ^ t3[b[4]]
            ^ t2[b[5]]
            ^ t1[b[6]]
            ^ t0[b[7]]
        )
    for byte in view[whole:]:
        crc = (crc >> 8) ^ t0[(crc ^ byte) & 0xFF]
    return crc ^ 0xFFFFFFFF


def crc32c_b64(data: bytes) -> str:
    return base64.b64encode(crc32c(data).to_bytes(4, "big")).decode()


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()
