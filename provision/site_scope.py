"""Which resources belong to one site, and where a site's file lives (pure, reads files only).

A site's resources are the ones its site file declares (entries stamped out of `sites.template`
point at the site file, see `LoadedBlueprint.locate`) plus the objects those contain (e.g. the
IAM policy of the site's bucket, which collects the Cloud Healthcare Service Agent's grant),
less what resources outside the site depend on: an object derived from the site's entries that
other sites need too (the agent's grant on a topic every site notifies) belongs to none of them.
Planning that set with `plan(..., only=...)` adds what it depends on (project, APIs, service
agent), so onboarding one site never touches another site's objects.
"""

from __future__ import annotations

import fnmatch
import glob
import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from provision.blueprint.loader import LoadedBlueprint
from provision.errors import ProvisionError
from provision.model import Address, Resource
from provision.resources import registry

SITE_FILE_SUFFIX = ".yaml"


class SiteError(ProvisionError):
    """The site cannot be onboarded or selected as asked."""


def site_file_path(loaded: LoadedBlueprint, site: str) -> Path:
    """Where the file of `site` goes: `{folder of sites.include}/{site}.yaml`.

    Raises `SiteError` when the blueprint has no `sites` section or its `include` glob would not
    pick up a file of that name.
    """
    sites = loaded.blueprint.sites
    if sites is None:
        raise SiteError(
            f"{loaded.path}: the blueprint has no `sites` section (with `include` and "
            "`template`), so it has no site files to add to"
        )
    include = PurePosixPath(sites.include.replace("\\", "/"))
    folder: list[str] = []
    for part in include.parts[:-1]:
        if glob.has_magic(part):
            break
        folder.append(part)
    candidate = Path(loaded.path.parent, *folder, f"{site}{SITE_FILE_SUFFIX}")
    relative = os.path.relpath(candidate, loaded.path.parent).replace(os.sep, "/")
    if not _matches(relative, sites.include):
        raise SiteError(
            f"{loaded.path}: sites.include {sites.include!r} does not match {relative!r}; "
            "write the site file by hand where the glob finds it"
        )
    return candidate


def _matches(relative: str, include: str) -> bool:
    """Whether `relative` is one of the paths the glob `include` selects."""
    if fnmatch.fnmatchcase(relative, include):
        return True
    # `**/` also matches no folder at all.
    return "**/" in include and fnmatch.fnmatchcase(relative, include.replace("**/", ""))


def declared_by(loaded: LoadedBlueprint, resources: Sequence[Resource], file: Path) -> set[Address]:
    """Addresses of the resources declared in `file`."""
    target = file.resolve()
    return {
        r.address
        for r in resources
        if r.source is not None and Path(r.source.file).resolve() == target
    }


def site_addresses(
    loaded: LoadedBlueprint, resources: Sequence[Resource], site: str
) -> frozenset[Address]:
    """The resources of `site`: declared by its file and needed by no resource outside it,
    plus the objects they contain.

    Raises `SiteError` when the blueprint has no such site file or it declares nothing.
    """
    file = site_file_path(loaded, site)
    if not any(f.resolve() == file.resolve() for f in loaded.files):
        raise SiteError(f"site {site!r} has no file {file} in this blueprint")
    declared = declared_by(loaded, resources, file)
    if not declared:
        raise SiteError(f"site file {file} declares no resources (is `sites.template` empty?)")
    shared = {
        d
        for r in resources
        if r.address not in declared
        for d in r.depends_on
        if not _contains(d, r.address)
    }
    own = declared - shared
    contained = {r.address for r in resources if any(_contains(a, r.address) for a in own)}
    return frozenset(own | contained)


def _contains(owner: Address, address: Address) -> bool:
    """Whether `address` is inside `owner`: named below it, or `owner`'s own IAM policy (never
    the object a policy is on)."""
    if address.name.startswith(owner.name + "/"):
        return True
    return address.name == owner.name and registry.get(address.kind).parent(address) == owner
