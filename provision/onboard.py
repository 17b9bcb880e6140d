"""The site file that `provision onboard` writes, and writing it safely (no Google calls).

`site_file_text(site)` renders a `Site` (name, location, vars) as the YAML of a site file.
`write_site_file(path, site)` writes it unless the file exists:

* absent: written (exclusively, so two runs cannot both create it); `created` is True;
* present with the same site (same name, location and vars, whatever the comments; an absent
  location counts as `sites.defaultLocation`): accepted as
  is, so a rerun after success or after a failure goes on where it stopped; `created` is False;
* present with anything else: `SiteError` saying what differs. It is never overwritten.

The caller removes a file it created (`remove_created`) when validation fails or the user does
not confirm, so nothing is left half-done.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from provision.blueprint import rules
from provision.blueprint.schema import Site
from provision.blueprint.yaml_reader import parse_yaml
from provision.resources import addresses
from provision.site_scope import SiteError

IMPORT_URI_VAR = "import_uri"
"""The site var `--bucket` sets: a `gs://` URI the site template can use as `{import_uri}`."""


@dataclass(frozen=True)
class SiteFileResult:
    path: Path
    created: bool
    """True when this call wrote the file (False: an identical one was already there)."""


def new_site(name: str, location: str | None = None, bucket: str | None = None) -> Site:
    """The `Site` for these options; raises `SiteError` naming the bad option."""
    problem = rules.check_site_name(name)
    if problem is not None:
        raise SiteError(f"SITE: {problem}")
    if location is not None:
        problem = rules.check_healthcare_location(location)
        if problem is not None:
            raise SiteError(f"--location: {problem}")
    site_vars: dict[str, str] = {}
    if bucket is not None:
        site_vars[IMPORT_URI_VAR] = import_uri(bucket)
    return Site(name=name, location=location, vars=site_vars)


def import_uri(bucket: str) -> str:
    """`gs://BUCKET[/PATH]` as given, without a trailing slash; raises `SiteError` otherwise."""
    text = bucket.rstrip("/")
    if any(ord(char) < 32 or ord(char) == 127 for char in text):
        raise SiteError("--bucket: the URI has a control character (such as a line break)")
    name = addresses.bucket_of_uri(text)
    if not text.startswith("gs://") or not name:
        raise SiteError(
            f"--bucket: {bucket!r} is not a gs:// URI (write gs://BUCKET or gs://BUCKET/PATH)"
        )
    problem = rules.check_bucket_name(name)
    if problem is not None:
        raise SiteError(f"--bucket: {problem}")
    return text


def site_file_text(site: Site, blueprint_name: str) -> str:
    """The YAML of a site file (deterministic: the same site gives the same bytes). The values
    are written by the YAML library, so no option value can break the file or add keys."""
    data: dict[str, object] = {"name": site.name}
    if site.location is not None:
        data["location"] = site.location
    if site.vars:
        data["vars"] = dict(sorted(site.vars.items()))
    comment = json.dumps(blueprint_name, ensure_ascii=True)
    header = (
        f"# Site {json.dumps(site.name, ensure_ascii=True)}: expanded through `sites.template` "
        f"in {comment}.\n"
        "# Written by `provision onboard`; edit it like any blueprint file.\n"
    )
    body = yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=False)
    return header + body


def read_site(path: Path) -> Site | None:
    """The site in an existing file, or None when it is not a valid site file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    parsed = parse_yaml(text, str(path))
    if parsed.data is None or any(p.severity == "error" for p in parsed.problems):
        return None
    try:
        return Site.model_validate(parsed.data, by_name=False)
    except ValidationError:
        return None


def write_site_file(
    path: Path, site: Site, blueprint_name: str, default_location: str | None = None
) -> SiteFileResult:
    """Write the site file at `path`, or accept an identical existing one (see module doc).

    Locations compare as the site gets them: no location means `default_location`
    (`sites.defaultLocation`)."""
    text = site_file_text(site, blueprint_name)
    if path.exists():
        _accept_existing(path, site, default_location)
        return SiteFileResult(path, created=False)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        _accept_existing(path, site, default_location)
        return SiteFileResult(path, created=False)
    except OSError as error:
        raise SiteError(f"cannot write {path}: {error.strerror or error}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as error:
        path.unlink(missing_ok=True)
        raise SiteError(f"cannot write {path}: {error.strerror or error}") from None
    return SiteFileResult(path, created=True)


def remove_created(result: SiteFileResult) -> bool:
    """Remove the file if this run created it; True when it was removed."""
    if not result.created:
        return False
    result.path.unlink(missing_ok=True)
    return True


def _accept_existing(path: Path, site: Site, default_location: str | None) -> None:
    existing = read_site(path)
    if existing is None:
        raise SiteError(
            f"{path} already exists and is not a valid site file; it was left as it is. "
            "Fix or remove it, or choose another site name"
        )
    differences = _differences(existing, site, default_location)
    if differences:
        raise SiteError(
            f"site {site.name!r} already exists with other settings in {path} "
            f"({'; '.join(differences)}); it was left as it is. Rerun with the same options, "
            "edit the file and run `provision apply`, or choose another site name"
        )


def _differences(existing: Site, wanted: Site, default_location: str | None) -> list[str]:
    out = []
    if existing.name != wanted.name:
        out.append(f"the file has name {existing.name!r}, this run asks for {wanted.name!r}")
    if (existing.location or default_location) != (wanted.location or default_location):
        out.append(
            f"the file has location {_shown(existing.location)}, "
            f"this run asks for {_shown(wanted.location)}"
        )
    if existing.vars != wanted.vars:
        out.append(f"the file has vars {existing.vars}, this run asks for {wanted.vars}")
    return out


def _shown(value: str | None) -> str:
    return "none" if value is None else repr(value)
