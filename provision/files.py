"""Reading and writing the user's files safely: blueprints, site files and plan files.

* `read_regular(path, limit)` reads a regular file of at most `limit` bytes. Anything else (a
  directory, a FIFO, a device, a symlink to one) is refused without blocking: the file is
  opened non-blocking and checked with `fstat` before a byte is read.
* `replace_regular(path, text, protected)` writes a file atomically (a fresh temporary file in
  the same folder, then a rename). It never replaces anything but a regular file, never one of
  `protected`, and leaves no temporary file behind on failure.
* `name_problem(path)` says why a file name cannot be used (not UTF-8), so that every message
  naming a file can be printed.

Every failure is a `FileError` with a one-line message naming the file.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from provision.errors import ProvisionError

MIB = 1024 * 1024
BLUEPRINT_LIMIT = 16 * MIB
"""Largest blueprint or site file read."""
PLAN_LIMIT = 256 * MIB
"""Largest plan file read (a plan of 1,000 sites is about 15 MiB)."""


class FileError(ProvisionError):
    """A file that cannot be read or written as asked; the message names it, `reason` says
    why without naming it."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message


def _failed(verb: str, label: str, reason: str) -> FileError:
    return FileError(f"cannot {verb} {label}: {reason}", reason)


def shown(path: str | Path) -> str:
    """`path` as printable text: bytes that are not UTF-8 appear as `\\xNN`."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def name_problem(path: str | Path) -> str | None:
    """Why `path` cannot be used as a file name here (None when it can)."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return f"the file name {shown(path)} is not valid UTF-8; rename it"
    return None


def _kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def read_regular(path: Path, limit: int, what: str = "file") -> bytes:
    """The bytes of the regular file at `path` (symlinks followed); FileError otherwise."""
    return _read(path, limit, what, whole=True)


def read_start(path: Path, size: int, what: str = "file") -> bytes:
    """The first `size` bytes of the regular file at `path`; FileError otherwise."""
    return _read(path, size, what, whole=False)


def _read(path: Path, limit: int, what: str, *, whole: bool) -> bytes:
    problem = name_problem(path)
    if problem is not None:
        raise FileError(problem, problem)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as error:
        raise _failed("read", f"{what} {shown(path)}", _reason(error)) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = _kind_of(mode)
            raise _failed("read", f"{what} {shown(path)}", f"it is {kind}, not a file")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(MIB, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit and whole:
            raise _failed("read", f"{what} {shown(path)}", f"it is larger than {limit // MIB} MiB")
        return b"".join(chunks)[:limit]
    except OSError as error:
        raise _failed("read", f"{what} {shown(path)}", _reason(error)) from None
    finally:
        os.close(fd)


def replace_regular(path: Path, text: str, protected: Iterable[Path] = (), what: str = "") -> None:
    """Write `text` to `path` atomically; refuse to replace a non-regular file or `protected`."""
    check_writable(path, protected, what)
    label = f"{what} {shown(path)}".strip()
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise FileError(f"cannot write {label}: {_reason(error)}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _mode_of(path))
        os.replace(tmp, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(error, OSError):
            raise FileError(f"cannot write {label}: {_reason(error)}") from None
        raise


def _mode_of(path: Path) -> int:
    """The permission bits a replaced file keeps; 0o644 for a new one."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o644


def check_writable(path: Path, protected: Iterable[Path] = (), what: str = "") -> None:
    """Raise the FileError `replace_regular` would raise before writing anything."""
    label = f"{what} {shown(path)}".strip()
    problem = name_problem(path)
    if problem is not None:
        raise FileError(problem)
    folder = path.parent
    try:
        folder_mode = os.stat(folder).st_mode
    except OSError as error:
        raise FileError(f"cannot write {label}: folder {shown(folder)}: {_reason(error)}") from None
    if not stat.S_ISDIR(folder_mode):
        raise FileError(f"cannot write {label}: {shown(folder)} is not a folder")
    _refuse_to_replace(path, label, protected)


def _refuse_to_replace(path: Path, label: str, protected: Iterable[Path]) -> None:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as error:
        raise FileError(f"cannot write {label}: {_reason(error)}") from None
    if stat.S_ISLNK(mode):
        raise FileError(f"cannot write {label}: it is a symbolic link; it was not replaced")
    if not stat.S_ISREG(mode):
        kind = _kind_of(mode)
        raise FileError(f"cannot write {label}: it is {kind}; it was not replaced")
    for other in protected:
        with contextlib.suppress(OSError):
            if os.path.samefile(path, other):
                raise FileError(
                    f"cannot write {label}: it is {shown(other)}, a file of the blueprint; "
                    "it was not replaced"
                )


def _reason(error: OSError) -> str:
    return error.strerror or type(error).__name__
