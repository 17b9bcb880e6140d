"""Where things are in blueprint files, and findings that point at them.

A *path* is a tuple of mapping keys and list indexes, as in a pydantic error `loc`:
`("datasets", 0, "dicomStores", 1, "id")`, shown as `datasets[0].dicomStores[1].id`.
A `SourceMap` knows, for every path of one document, where its key and its value start, and
turns `Finding`s (path + message) into `Diagnostic`s (file:line:column + message).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from provision.errors import Diagnostic

PathPart = str | int
Path = tuple[PathPart, ...]
Anchor = Literal["key", "value"]
Severity = Literal["error", "warning"]

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def format_path(path: Path) -> str:
    """`("datasets", 0, "id")` -> `datasets[0].id`; odd keys are quoted: `labels["a.b"]`."""
    text = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            text += f"[{part}]"
        elif isinstance(part, str) and _PLAIN_KEY.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(str(part), ensure_ascii=False)}]"
    return text


@dataclass(frozen=True, order=True)
class Position:
    """A 1-based line and column in a file."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Located:
    """Where one path's key and value start; `note` explains entries made from a template."""

    key: Position
    value: Position
    note: str = ""
    shown_as: str = ""
    """The field path to name instead of the path looked up (a value every site shares is
    reported once, at the blueprint line it comes from)."""
    site: str = ""
    """For a value one site's expansion of the template made: the site."""
    template: tuple[str, Position] | None = None
    """For such a value: the template path it was made from, and where that is."""


@dataclass(frozen=True)
class Finding:
    """One problem at a document path, before it is given a file position."""

    path: Path
    message: str
    severity: Severity = "error"
    at: Anchor = "value"
    """Point at the key (unknown fields) or at the value (everything else)."""
    related: Path | None = None
    """Another path worth naming, e.g. the first of two duplicates ("first declared at ...")."""
    code: str = ""
    """A warning's stable code (`provision.blueprint.warning_codes`)."""


@dataclass
class SourceMap:
    """Positions of every key and value of one YAML document."""

    file: str
    locations: dict[Path, Located] = field(default_factory=dict)

    def add(self, path: Path, located: Located) -> None:
        self.locations[path] = located

    def items_under(self, prefix: Path) -> Iterator[tuple[Path, Located]]:
        """Every recorded path starting with `prefix` (including `prefix` itself)."""
        size = len(prefix)
        for path, located in self.locations.items():
            if path[:size] == prefix:
                yield path, located

    def lookup(self, path: Path, at: Anchor = "value") -> tuple[Position, str]:
        """Position of `path` and its note. A path that is not in the file (a missing field)
        resolves to the key of its nearest ancestor that is."""
        position, located = self._find(path, at)
        return position, located.note if located is not None else ""

    def _find(self, path: Path, at: Anchor) -> tuple[Position, Located | None]:
        located = self.locations.get(path)
        if located is not None:
            return (located.key if at == "key" else located.value), located
        for end in range(len(path) - 1, -1, -1):
            located = self.locations.get(path[:end])
            if located is not None:
                return (located.key if end else located.value), located
        return Position(self.file, 1, 1), None

    def diagnostics(self, findings: Iterable[Finding]) -> list[Diagnostic]:
        """The findings as diagnostics; a warning about a value the site template made is
        reported once for all the sites it applies to, at the template line (the first
        site's message when the sites' messages differ)."""
        out: list[Diagnostic] = []
        groups: dict[tuple[str, Position, str], list[tuple[Finding, str]]] = {}
        for finding in findings:
            _, located = self._find(finding.path, finding.at)
            if finding.severity != "warning" or located is None or located.template is None:
                out.append(self.diagnostic(finding))
                continue
            path, position = located.template
            groups.setdefault((path, position, finding.code), []).append((finding, located.site))
        for (path, position, code), members in groups.items():
            first = members[0][0]
            sites = list(dict.fromkeys(site for _, site in members))
            alike = len({finding.message for finding, _ in members}) == 1
            names = ", ".join(repr(site) for site in sites)
            noun = "site" if len(sites) == 1 else "sites"
            message = f"{first.message} (for {noun} {names}"
            message += ")" if alike else f"; as for site {sites[0]!r})"
            out.append(
                Diagnostic(
                    position.file, position.line, position.column, path, message, "warning", code
                )
            )
        return out

    def diagnostic(self, finding: Finding) -> Diagnostic:
        position, located = self._find(finding.path, finding.at)
        message = finding.message
        if finding.related is not None:
            first, _ = self.lookup(finding.related)
            message += f" (first declared at {_short(first, position)})"
        if located is not None and located.note:
            message += f" ({located.note})"
        shown_as = located.shown_as if located is not None else ""
        return Diagnostic(
            file=position.file,
            line=position.line,
            column=position.column,
            path=shown_as or format_path(finding.path),
            message=message,
            severity=finding.severity,
            code=finding.code,
        )


def _short(target: Position, here: Position) -> str:
    """`line 12` within the same file, `file:12` otherwise."""
    if target.file == here.file:
        return f"line {target.line}"
    return f"{target.file}:{target.line}"
