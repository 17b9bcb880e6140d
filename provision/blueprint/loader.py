"""Load a blueprint file into a validated `Blueprint`.

Contract (stable; the planner depends on it): `load(path)` returns a `LoadedBlueprint` or raises
`BlueprintError` carrying every problem found (errors, plus any warnings), each a `Diagnostic`
with file, line, column, field path and a plain-English message.

Steps: parse the YAML with positions -> read the site files and expand `sites.template` into the
document -> validate the document against the schema (Google's id rules included), the template
separately (placeholders allowed) -> check cross-references and collect warnings. All problems
of all steps are reported together; only unreadable or syntactically broken YAML in the
blueprint file itself stops early.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from provision.blueprint.messages import describe_kind, findings_from_error
from provision.blueprint.schema import TEMPLATE_CONTEXT, Blueprint, SiteTemplate
from provision.blueprint.sites import TEMPLATE, expand_sites, malformed_placeholders
from provision.blueprint.source import Finding, SourceMap, format_path
from provision.blueprint.validate import check_references
from provision.blueprint.yaml_reader import parse_yaml
from provision.errors import BlueprintError, Diagnostic
from provision.files import BLUEPRINT_LIMIT, FileError, read_regular, shown
from provision.model import SourceRef


@dataclass(frozen=True)
class LoadedBlueprint:
    path: Path
    blueprint: Blueprint
    """The blueprint with its sites expanded into datasets, buckets, imports and grants."""
    digest: str
    """sha256 over the blueprint file and every included file, in order."""
    files: tuple[Path, ...] = ()
    warnings: tuple[Diagnostic, ...] = ()
    """The warnings (those the blueprint acknowledges aside)."""
    acknowledged: int = 0
    """How many warnings the blueprint's `acknowledge` silenced."""
    _locations: dict[str, SourceRef] = field(default_factory=dict, repr=False)

    def locate(self, field_path: str) -> SourceRef:
        """Where `field_path` (e.g. `datasets[0].dicomStores[1]`) was declared; entries made
        from the site template point at their site file."""
        return self._locations.get(field_path, SourceRef(str(self.path)))


def load(path: str | Path, *, site_folder_may_be_missing: bool = False) -> LoadedBlueprint:
    """Read, expand and validate the blueprint at `path`.

    A `sites.include` whose folder does not exist is an error (every site would be planned as
    dropped), unless `site_folder_may_be_missing` (onboarding, which creates it, says so).
    """
    path = Path(path)
    display = shown(path)
    try:
        content = read_regular(path, BLUEPRINT_LIMIT, "blueprint")
    except FileError as error:
        raise BlueprintError(
            [Diagnostic(display, None, None, "", f"cannot read: {error.reason}")]
        ) from None
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        message = f"the file is not UTF-8 text (invalid byte at offset {error.start})"
        raise BlueprintError([Diagnostic(display, None, None, "", message)]) from None
    parsed = parse_yaml(text, display)
    if parsed.data is None and not parsed.problems:
        message = "the blueprint is empty; it needs at least a `project` with an `id`"
        raise BlueprintError([Diagnostic(display, 1, 1, "", message)])
    if parsed.data is None:
        raise BlueprintError(parsed.problems)
    source = parsed.source
    diagnostics: list[Diagnostic] = list(parsed.problems)
    if not isinstance(parsed.data, dict):
        got = describe_kind(parsed.data)
        message = f"a blueprint is a mapping of keys such as `project:`, not {got}"
        raise BlueprintError([*diagnostics, Diagnostic(display, 1, 1, "", message)])
    doc: dict[str, Any] = parsed.data

    template_raw, template_findings = _validate_template(doc)
    expansion = expand_sites(
        doc,
        source,
        path.parent,
        render=not template_findings,
        folder_required=not site_folder_may_be_missing,
    )
    diagnostics += expansion.diagnostics
    findings: list[Finding] = [*template_findings, *expansion.findings]

    blueprint: Blueprint | None = None
    try:
        blueprint = Blueprint.model_validate(_without_template(doc), by_name=False)
    except ValidationError as error:
        findings += findings_from_error(error, Blueprint)
    findings += check_references(doc)
    diagnostics += source.diagnostics(findings)

    errors = [d for d in diagnostics if d.severity == "error"]
    if errors or blueprint is None:
        raise BlueprintError(_unique(diagnostics))
    if blueprint.sites is not None and template_raw is not None:
        template = SiteTemplate.model_validate(
            template_raw, by_name=False, context={TEMPLATE_CONTEXT: True}
        )
        sites = blueprint.sites.model_copy(update={"template": template})
        blueprint = blueprint.model_copy(update={"sites": sites})

    accepted = {a.code for a in blueprint.acknowledge}
    shown_diagnostics = [d for d in diagnostics if d.severity == "error" or d.code not in accepted]
    site_files = [(f.relative, f.path, f.content) for f in expansion.files]
    return LoadedBlueprint(
        path=path,
        blueprint=blueprint,
        digest=_digest([(path.name, content), *((rel, data) for rel, _, data in site_files)]),
        files=(path, *(p for _, p, _ in site_files)),
        warnings=tuple(_unique(shown_diagnostics)),
        acknowledged=len(diagnostics) - len(shown_diagnostics),
        _locations=_locations(source),
    )


def _validate_template(doc: dict[str, Any]) -> tuple[Any, list[Finding]]:
    """Validate `sites.template` on its own, with placeholders allowed in id fields."""
    sites = doc.get("sites")
    if not isinstance(sites, dict) or "template" not in sites:
        return None, []
    template = sites["template"]
    findings = malformed_placeholders(template, TEMPLATE)
    try:
        SiteTemplate.model_validate(template, by_name=False, context={TEMPLATE_CONTEXT: True})
    except ValidationError as error:
        malformed = {f.path for f in findings}
        findings += [
            f for f in findings_from_error(error, SiteTemplate, TEMPLATE) if f.path not in malformed
        ]
    return template, findings


def _without_template(doc: dict[str, Any]) -> dict[str, Any]:
    """The document with `sites.template` emptied (it is validated separately)."""
    sites = doc.get("sites")
    if isinstance(sites, dict) and "template" in sites:
        return {**doc, "sites": {**sites, "template": {}}}
    return doc


def _digest(files: Iterable[tuple[str, bytes]]) -> str:
    """sha256 over (relative name, length, content) of each file, in the given order."""
    digest = hashlib.sha256()
    for name, content in files:
        digest.update(f"{name}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()


def _locations(source: SourceMap) -> dict[str, SourceRef]:
    return {
        format_path(path): SourceRef(located.value.file, located.value.line)
        for path, located in source.locations.items()
    }


def _unique(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    return sorted(set(diagnostics), key=Diagnostic.sort_key)
