"""The error tree. Every error a user can cause or meet is a `ProvisionError`.

The CLI prints `ProvisionError`s as plain messages (no traceback) and exits with `exit_code`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem in a blueprint: where it is, which field, and what is wrong in plain words."""

    file: str
    line: int | None
    column: int | None
    path: str
    """Dotted field path, e.g. `datasets[0].dicomStores[1].id`."""
    message: str
    severity: Literal["error", "warning"] = "error"
    code: str = ""
    """A warning's stable code (`provision.blueprint.warning_codes`), shown after it."""

    def sort_key(self) -> tuple[str, int, int, str, str, str]:
        """File, then position (unknown positions first), then path and message."""
        return (self.file, self.line or 0, self.column or 0, self.path, self.message, self.severity)

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        field_path = f" {self.path}:" if self.path else ""
        code = f" [{self.code}]" if self.code else ""
        return f"{where}: {self.severity}:{field_path} {self.message}{code}"


class ProvisionError(Exception):
    """A failure the user can act on. The message must say what happened and what to do."""

    exit_code = 1


class BlueprintError(ProvisionError):
    """A blueprint that cannot be used; carries every problem found, not only the first."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics, key=Diagnostic.sort_key)
        errors = [d for d in self.diagnostics if d.severity == "error"]
        noun = "problem" if len(errors) == 1 else "problems"
        lines = [f"{len(errors)} {noun} in blueprint:", *(f"  {d}" for d in self.diagnostics)]
        super().__init__("\n".join(lines))


@dataclass(eq=False)
class GoogleApiError(ProvisionError):
    """A Google API call failed. Built by `provision.gcp` from the wire error envelope."""

    http_status: int
    status: str
    """Canonical status, e.g. `PERMISSION_DENIED`; empty when the envelope has none (Storage)."""
    message: str
    reason: str = ""
    """`ErrorInfo.reason` (e.g. `SERVICE_DISABLED`) or the legacy `errors[0].reason`."""
    method: str = ""
    """The API method or HTTP verb and path that failed."""
    details: list[Mapping[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        status = self.status or str(self.http_status)
        where = f" ({self.method})" if self.method else ""
        return f"Google API error {self.http_status} {status}{where}: {self.message}"

    @property
    def is_permission_denied(self) -> bool:
        return self.http_status in (401, 403)


class PlanError(ProvisionError):
    """Planning could not complete (unreadable object, immutable field changed, ...)."""


class StalePlanError(ProvisionError):
    """A saved plan no longer matches the live state; names what changed."""


class ApplyError(ProvisionError):
    """Some changes failed; the message lists done / failed / skipped."""


class ViewerConfigError(ProvisionError):
    """A viewer configuration (or the OAuth steps it needs) cannot be made from this blueprint or
    these options."""


class RunInterruptedError(ProvisionError):
    """The run was interrupted (Ctrl-C) while waiting; nothing further was sent."""

    exit_code = 130


class RefusedError(ProvisionError):
    """A destructive or unsafe change was refused; the message names the flag that allows it."""
