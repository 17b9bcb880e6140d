"""Site expansion: stamp `sites.template` out once per site file.

`sites.include` is a glob (relative to the blueprint) of site files, each a `Site` (`name`,
`location`, `vars`). Files are processed in order of their relative path, so expansion is
deterministic. For each site, every string value of the template has its placeholders replaced:
`{site}` (the site name), `{project}` (the project id), `{location}` (the site's location or
`sites.defaultLocation`) and `{KEY}` for each key of the site's `vars`; `{{` and `}}` stand for
literal braces. The results are appended to `datasets`, `buckets` and `imports`, and
`serviceAgentGrants` are added to the grants of the Cloud Healthcare Service Agent (which is
declared if the blueprint does not declare it).

Expansion works on the plain data before it is validated, and records where each expanded value
came from, so that a problem in an expanded entry points at the site file (at the var or name
that produced it) and mentions the template line.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from pydantic import ValidationError

from provision.blueprint import rules, site_glob
from provision.blueprint import warning_codes as codes
from provision.blueprint.messages import describe_kind, findings_from_error
from provision.blueprint.schema import Site
from provision.blueprint.source import Finding, Located, Path, Position, SourceMap, format_path
from provision.blueprint.yaml_reader import parse_yaml
from provision.errors import Diagnostic
from provision.files import BLUEPRINT_LIMIT, FileError, read_regular, shown
from provision.resources.healthcare import SERVICE as HEALTHCARE_SERVICE

TEMPLATE: Path = ("sites", "template")
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SECTIONS = ("datasets", "buckets", "imports", "serviceAgentGrants", "deidentify", "keyRings")


@dataclass(frozen=True)
class SiteFile:
    """One site file as read from disk."""

    path: FsPath
    relative: str
    """Path relative to the blueprint's directory (used for ordering and the digest)."""
    content: bytes


@dataclass
class Expansion:
    files: list[SiteFile] = field(default_factory=list)
    sites: list[Site] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    """Problems in site files or in rendering, already located."""
    findings: list[Finding] = field(default_factory=list)
    """Problems located in the main document (reported through its source map)."""


@dataclass
class _LoadedSite:
    file: SiteFile
    site: Site
    source: SourceMap

    def anchor(self, placeholders: set[str]) -> Position:
        """The site-file position that best explains a value built from `placeholders`."""
        for name in sorted(placeholders):
            if name in self.site.vars:
                return self.source.lookup(("vars", name))[0]
        if "location" in placeholders and self.site.location is not None:
            return self.source.lookup(("location",))[0]
        return self.source.lookup(("name",))[0]


def expand_sites(
    doc: dict[str, Any],
    source: SourceMap,
    base_dir: FsPath,
    render: bool,
    *,
    folder_required: bool = True,
) -> Expansion:
    """Read the site files and, when `render` (the template is valid), append their entries to
    `doc` in place, recording positions in `source`. When `folder_required`, a glob whose
    folder does not exist is an error."""
    expansion = Expansion()
    sites = doc.get("sites")
    if not isinstance(sites, Mapping):
        return expansion
    include = sites.get("include")
    if not isinstance(include, str) or not include.strip() or os.path.isabs(include):
        return expansion  # the schema reports it
    if site_glob.outside_parts(include):
        return expansion  # the schema reports it
    loaded = _read_sites(include, base_dir, expansion, folder_required=folder_required)
    template = sites.get("template")
    if not render or not isinstance(template, Mapping):
        return expansion
    project = doc.get("project")
    project_id = project.get("id") if isinstance(project, Mapping) else None
    if not isinstance(project_id, str) or rules.check_project_id(project_id) is not None:
        project_id = None
    default_location = sites.get("defaultLocation")
    renderer = _Renderer(doc, source, template, project_id, expansion)
    for item in loaded:
        location = item.site.location or (
            default_location if isinstance(default_location, str) else None
        )
        renderer.render_site(item, location)
    return expansion


def _read_sites(
    include: str, base_dir: FsPath, expansion: Expansion, *, folder_required: bool
) -> list[_LoadedSite]:
    matched = site_glob.find(include, base_dir)
    expansion.findings += [Finding(("sites", "include"), p) for p in matched.problems]
    files = matched.found
    missing = None if files or not folder_required else _missing_directory(include, base_dir)
    if missing is not None:
        # Without its folder every site would be planned as dropped from the blueprint.
        expansion.findings.append(
            Finding(
                ("sites", "include"),
                f"the site folder {shown(missing)} "
                f"{'is not a folder' if os.path.lexists(missing) else 'does not exist'}, so no "
                "site would be found; create it (an empty folder means no sites) or correct the "
                "glob",
            )
        )
    loaded: list[_LoadedSite] = []
    names: dict[str, Position] = {}
    for relative, path in files:
        item = _read_site(path, relative, expansion)
        if item is None:
            continue
        name_at = item.source.lookup(("name",))[0]
        if item.site.name in names:
            first = names[item.site.name]
            expansion.diagnostics.append(
                _at(name_at, "name", f"site {item.site.name!r} is also defined in {first.file}")
            )
            continue
        names[item.site.name] = name_at
        loaded.append(item)
    return loaded


def _missing_directory(include: str, base_dir: FsPath) -> FsPath | None:
    plain: list[str] = []
    for part in FsPath(include).parts[:-1]:
        if glob.has_magic(part):
            break
        plain.append(part)
    directory = base_dir.joinpath(*plain)
    return None if directory.is_dir() else directory


def _at(position: Position, path: str, message: str) -> Diagnostic:
    return Diagnostic(position.file, position.line, position.column, path, message)


def _read_site(path: FsPath, relative: str, expansion: Expansion) -> _LoadedSite | None:
    display = shown(path)
    try:
        content = read_regular(path, BLUEPRINT_LIMIT, "site file")
    except FileError as error:
        expansion.diagnostics.append(
            Diagnostic(display, None, None, "", f"cannot read site file: {error.reason}")
        )
        return None
    site_file = SiteFile(path, relative, content)
    expansion.files.append(site_file)
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        message = f"the file is not UTF-8 text (byte {error.start})"
        expansion.diagnostics.append(Diagnostic(display, None, None, "", message))
        return None
    parsed = parse_yaml(text, display)
    expansion.diagnostics += parsed.problems
    if any(p.severity == "error" for p in parsed.problems) or parsed.data is None:
        if parsed.data is None and not parsed.problems:
            expansion.diagnostics.append(
                Diagnostic(display, 1, 1, "", "the site file is empty; it needs at least `name`")
            )
        return None
    if not isinstance(parsed.data, dict):
        message = f"a site file is a mapping with `name:`, not {describe_kind(parsed.data)}"
        expansion.diagnostics.append(Diagnostic(display, 1, 1, "", message))
        return None
    try:
        site = Site.model_validate(parsed.data, by_name=False)
    except ValidationError as error:
        findings = findings_from_error(error, Site)
        expansion.diagnostics += [parsed.source.diagnostic(f) for f in findings]
        return None
    return _LoadedSite(site_file, site, parsed.source)


def malformed_placeholders(value: Any, path: Path) -> list[Finding]:
    """Braces in template strings that are neither `{name}` nor `{{` / `}}`."""
    if isinstance(value, str):
        bad = [
            m.group(0)
            for m in _TOKEN.finditer(value)
            if m.group(1) is not None and not _NAME.fullmatch(m.group(1))
        ]
        if bad:
            return [
                Finding(
                    path,
                    f"`{bad[0]}` is not a placeholder: placeholders are `{{name}}` with letters, "
                    "digits and '_'; write `{{` and `}}` for literal braces",
                )
            ]
        return []
    findings: list[Finding] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            findings += malformed_placeholders(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            findings += malformed_placeholders(item, (*path, index))
    return findings


@dataclass
class _Rendered:
    value: Any
    used: dict[Path, set[str]] = field(default_factory=dict)
    unknown: dict[str, Path] = field(default_factory=dict)
    """Placeholder name -> first template path (relative to the entry) that used it."""


class _Renderer:
    def __init__(
        self,
        doc: dict[str, Any],
        source: SourceMap,
        template: Mapping[str, Any],
        project_id: str | None,
        expansion: Expansion,
    ) -> None:
        self.doc = doc
        self.source = source
        self.template = template
        self.project_id = project_id
        self.expansion = expansion
        self.template_locations: dict[Path, list[tuple[Path, Located]]] = {}
        for path, located in source.items_under(TEMPLATE):
            if len(path) >= 4:
                self.template_locations.setdefault(path[2:4], []).append((path[4:], located))

    def render_site(self, item: _LoadedSite, location: str | None) -> None:
        values = {"site": item.site.name, **item.site.vars}
        if self.project_id is not None:
            values["project"] = self.project_id
        if location is not None:
            values["location"] = location
        rendered: list[tuple[str, int, _Rendered]] = []
        unknown: dict[str, tuple[str, int, Path]] = {}
        for section in _SECTIONS:
            entries = self.template.get(section)
            if not isinstance(entries, list):
                continue
            for index, entry in enumerate(entries):
                result = _Rendered(None)
                result.value = _render(entry, values, (), result)
                rendered.append((section, index, result))
                for name, path in result.unknown.items():
                    unknown.setdefault(name, (section, index, path))
        if unknown:
            self._report_unknown(item, unknown)
            return
        for section, index, result in rendered:
            self._append(item, section, index, result)

    def _report_unknown(self, item: _LoadedSite, unknown: dict[str, tuple[str, int, Path]]) -> None:
        for name, (section, index, path) in unknown.items():
            if name == "project" and self.project_id is None:
                continue  # the project id itself is missing or invalid; reported elsewhere
            where, _ = self.source.lookup((*TEMPLATE, section, index, *path))
            if name == "location":
                message = (
                    f"the site template uses `{{location}}` (at {where}) but this site has no "
                    "`location` and `sites.defaultLocation` is not set"
                )
                position, path_text = item.source.lookup(("name",))[0], "location"
            else:
                known = sorted({"site", "project", "location", *item.site.vars})
                message = (
                    f"the site template uses `{{{name}}}` (at {where}) but this site has no var "
                    f"{name!r}; add it under `vars` (known placeholders: {', '.join(known)})"
                )
                anchor: Path = ("vars",) if "vars" in item.site.model_fields_set else ("name",)
                position, path_text = item.source.lookup(anchor, "key")[0], "vars"
            self.expansion.diagnostics.append(_at(position, path_text, message))

    def _target(self, section: str) -> tuple[list[Any], Path] | None:
        """The list an expanded entry of `section` goes to, and its path."""
        if section != "serviceAgentGrants":
            if section not in self.doc:
                self.doc[section] = []
                self.source.add((section,), self._sites_located())
            items = self.doc[section]
            return (items, (section,)) if isinstance(items, list) else None
        return self._healthcare_grants()

    def _sites_located(self) -> Located:
        return self.source.locations.get(("sites",)) or Located(
            Position(self.source.file, 1, 1), Position(self.source.file, 1, 1)
        )

    def _healthcare_grants(self) -> tuple[list[Any], Path] | None:
        if "serviceAgents" not in self.doc:
            self.doc["serviceAgents"] = []
            self.source.add(("serviceAgents",), self._sites_located())
        agents = self.doc["serviceAgents"]
        if not isinstance(agents, list):
            return None
        for index, agent in enumerate(agents):
            if isinstance(agent, dict) and agent.get("service") == HEALTHCARE_SERVICE:
                if agent.get("grants") is None:
                    agent["grants"] = []
                    self.expansion.findings.append(
                        Finding(
                            ("serviceAgents", index),
                            "this agent lists no `grants`, so by default it would get "
                            "roles/storage.objectViewer on every import bucket; the site "
                            "template's serviceAgentGrants replace that default, so list the "
                            "grants it needs explicitly",
                            severity="warning",
                            at="key",
                            code=codes.AGENT_GRANTS_REPLACED,
                        )
                    )
                grants = agent["grants"]
                return (
                    (grants, ("serviceAgents", index, "grants"))
                    if isinstance(grants, list)
                    else None
                )
        agents.append({"service": HEALTHCARE_SERVICE, "grants": []})
        index = len(agents) - 1
        for path in (("serviceAgents", index), ("serviceAgents", index, "service")):
            self.source.add(path, self._sites_located())
        self.source.add(("serviceAgents", index, "grants"), self._sites_located())
        return agents[index]["grants"], ("serviceAgents", index, "grants")

    def _append(self, item: _LoadedSite, section: str, index: int, result: _Rendered) -> None:
        target = self._target(section)
        if target is None:
            return
        items, prefix = target
        root = (*prefix, len(items))
        items.append(result.value)
        if section == "datasets":
            self._protect(item, result.value, root)
        for relative, located in self.template_locations.get((section, index), []):
            used = result.used.get(relative, set())
            template_path = format_path((*TEMPLATE, section, index, *relative))
            shared = self._shared(item, used, template_path, located)
            if shared is not None:
                self.source.add((*root, *relative), shared)
                continue
            anchor = item.anchor(used)
            note = f"expanded for site {item.site.name!r} from {template_path} at {located.value}"
            self.source.add(
                (*root, *relative),
                Located(
                    anchor,
                    anchor,
                    note,
                    site=item.site.name,
                    template=(template_path, located.value),
                ),
            )

    def _protect(self, item: _LoadedSite, dataset: Any, root: Path) -> None:
        """Apply the site file's `deletionProtection` to a dataset of the site and its stores."""
        protect = item.site.deletion_protection
        if protect is None or not isinstance(dataset, dict):
            return
        at = item.source.lookup(("deletionProtection",))[0]
        located = Located(at, at, f"deletionProtection of site {item.site.name!r}")
        dataset["deletionProtection"] = protect
        self.source.add((*root, "deletionProtection"), located)
        stores = dataset.get("dicomStores")
        for index, store in enumerate(stores if isinstance(stores, list) else []):
            if isinstance(store, dict):
                store["deletionProtection"] = protect
                self.source.add((*root, "dicomStores", index, "deletionProtection"), located)

    def _shared(
        self, item: _LoadedSite, used: set[str], template_path: str, located: Located
    ) -> Located | None:
        """Where a value every site gets alike (made only from `{project}` and, for a site
        without `location`, `{location}` from `sites.defaultLocation`) is reported: once, at
        the blueprint line it comes from. None for a value of this site's own."""
        shared = {"project"} if item.site.location is not None else {"project", "location"}
        if not used or not used <= shared:
            return None
        default = self.source.locations.get(("sites", "defaultLocation"))
        if "location" in used and default is not None:
            note = f"used by {template_path} at {located.value} for every site without `location`"
            return Located(default.value, default.value, note, "sites.defaultLocation")
        return Located(located.value, located.value, "for every site", template_path)


def _render(value: Any, values: Mapping[str, str], path: Path, result: _Rendered) -> Any:
    if isinstance(value, str):
        used: set[str] = set()

        def replace(match: re.Match[str]) -> str:
            token = match.group(0)
            if token in ("{{", "}}"):
                return token[0]
            name = match.group(1)
            if name in values:
                used.add(name)
                return values[name]
            result.unknown.setdefault(name, path)
            return token

        text = _TOKEN.sub(replace, value)
        if used:
            result.used[path] = used
        return text
    if isinstance(value, Mapping):
        return {key: _render(item, values, (*path, key), result) for key, item in value.items()}
    if isinstance(value, list):
        return [_render(item, values, (*path, index), result) for index, item in enumerate(value)]
    return value
