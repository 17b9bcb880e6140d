"""`sites.include`: which files a glob relative to the blueprint's folder names, bounded.

Glob rules as in the shell: `*`, `?` and `[...]` match within one path part, `**` matches any
number of folders; names starting with `.` match only a pattern part starting with `.`. Unlike
`glob.glob`, a folder that cannot be read is reported instead of skipped, each folder is entered
at most once per pattern part (so symlink loops end), and at most `MAX_ENTRIES` entries and
`MAX_DEPTH` levels are looked at. Everything matched is returned, files or not: the caller
refuses what is not a readable regular file, so a site never disappears silently.
"""

from __future__ import annotations

import fnmatch
import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

MAX_ENTRIES = 100_000
MAX_DEPTH = 64
RECURSIVE = "**"


@dataclass
class Matches:
    found: list[tuple[str, Path]] = field(default_factory=list)
    """(path relative to the base folder, with `/`; full path), sorted by relative path."""
    problems: list[str] = field(default_factory=list)


class _TooMuchError(Exception):
    pass


@dataclass
class _Walk:
    base: Path
    result: Matches = field(default_factory=Matches)
    entries: int = 0
    visited: set[tuple[int, int, int]] = field(default_factory=set)

    def match(self, folder: Path, relative: tuple[str, ...], parts: tuple[str, ...]) -> None:
        if len(relative) > MAX_DEPTH:
            raise _TooMuchError(f"folders are nested more than {MAX_DEPTH} levels deep")
        head, rest = parts[0], parts[1:]
        if head == RECURSIVE:
            self.recursive(folder, relative, rest)
        elif not glob.has_magic(head):
            self.step(folder / head, (*relative, head), rest, is_dir=None)
        else:
            for name, is_dir in self.listing(folder):
                if _matches(name, head):
                    self.step(folder / name, (*relative, name), rest, is_dir=is_dir)

    def step(
        self, path: Path, relative: tuple[str, ...], rest: tuple[str, ...], is_dir: bool | None
    ) -> None:
        if rest:
            if is_dir if is_dir is not None else path.is_dir():
                self.match(path, relative, rest)
        elif is_dir is not None or os.path.lexists(path):
            self.result.found.append(("/".join(relative), path))

    def recursive(self, folder: Path, relative: tuple[str, ...], rest: tuple[str, ...]) -> None:
        """`**`: `rest` in this folder and in every folder below it, each entered once."""
        if len(relative) > MAX_DEPTH:
            raise _TooMuchError(f"folders are nested more than {MAX_DEPTH} levels deep")
        try:
            info = os.stat(folder)
        except OSError:
            return
        key = (len(rest), info.st_dev, info.st_ino)
        if key in self.visited:
            return
        self.visited.add(key)
        listing = self.listing(folder)
        if rest:
            self.match(folder, relative, rest)
        else:
            for name, is_dir in listing:
                if not is_dir and not name.startswith("."):
                    self.result.found.append(("/".join((*relative, name)), folder / name))
        for name, is_dir in listing:
            if is_dir and not name.startswith("."):
                self.recursive(folder / name, (*relative, name), rest)

    def listing(self, folder: Path) -> list[tuple[str, bool]]:
        try:
            with os.scandir(folder) as entries:
                listed = []
                for entry in entries:
                    self.entries += 1
                    if self.entries > MAX_ENTRIES:
                        raise _TooMuchError(f"more than {MAX_ENTRIES} entries to look at")
                    listed.append((entry.name, _is_dir(entry)))
        except OSError as error:
            shown = os.fsencode(folder).decode("utf-8", "backslashreplace")
            self.result.problems.append(
                f"cannot read site folder {shown}: {error.strerror or error}"
            )
            return []
        return sorted(listed)


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _matches(name: str, pattern: str) -> bool:
    if name.startswith(".") and not pattern.startswith("."):
        return False
    return fnmatch.fnmatchcase(name, pattern)


def outside_parts(include: str) -> bool:
    """True when the glob has a `..` part (it would leave the blueprint's folder)."""
    return ".." in include.replace("\\", "/").split("/")


def find(include: str, base: Path) -> Matches:
    """What `include` matches under `base` (see module doc)."""
    parts = tuple(p for p in include.replace("\\", "/").split("/") if p not in ("", "."))
    walk = _Walk(base)
    if not parts:
        return walk.result
    if outside_parts(include):
        walk.result.problems.append("the include glob must stay inside the blueprint's folder")
        return walk.result
    try:
        walk.match(base, (), parts)
    except _TooMuchError as error:
        walk.result.problems.append(f"cannot list site files: {error}; narrow the glob")
        walk.result.found.clear()
    walk.result.found.sort()
    return walk.result
