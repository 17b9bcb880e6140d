"""Which DICOM stores a viewer config covers, and the DICOMweb URL of each.

Shared by the OHIF and Orthanc generators. Pure: works on a `Blueprint`, never calls an API.

A dataset belongs to site `S` when its `site` label is `S` (the recommended convention: put
`labels: {site: "{site}"}` on the datasets of `sites.template`). Blueprints whose datasets carry
no `site` label fall back to the site template: a dataset belongs to `S` when its id is what a
template dataset id holding `{site}` renders to with `{site}` = `S` (other placeholders match
any text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from provision.blueprint.schema import Blueprint
from provision.errors import ViewerConfigError
from provision.resources import addresses

GOOGLE_HEALTHCARE_URL = "https://healthcare.googleapis.com"
"""Base URL of the Cloud Healthcare API (the `v1` path is added per store)."""

SITE_LABEL = "site"
"""Dataset label naming the site a dataset was stamped out for."""

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class StoreRef:
    """One DICOM store of the blueprint, fully qualified."""

    project: str
    location: str
    dataset: str
    store: str

    @property
    def name(self) -> str:
        """The Google resource name: `projects/P/locations/L/datasets/D/dicomStores/S`."""
        dataset = addresses.dataset_name(self.project, self.location, self.dataset)
        return addresses.dicom_store_name(dataset, self.store)

    def dicomweb_url(self, base_url: str = GOOGLE_HEALTHCARE_URL) -> str:
        """`{base}/v1/projects/.../dicomStores/S/dicomWeb` (no trailing slash)."""
        return f"{normalise_base_url(base_url)}/v1/{self.name}/dicomWeb"


def normalise_base_url(base_url: str) -> str:
    """`base_url` without a trailing slash; refuses anything but an http(s) scheme and a host."""
    try:
        parts = urlsplit(base_url)
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.netloc
        or parts.query
        or parts.fragment
    ):
        raise ViewerConfigError(
            f"base URL {base_url!r} is invalid: give scheme and host, e.g. "
            "http://127.0.0.1:8765 (no query or fragment)"
        )
    return base_url.rstrip("/")


def select_stores(blueprint: Blueprint, site: str | None = None) -> list[StoreRef]:
    """Every DICOM store of the blueprint (or of one site), in blueprint order.

    Raises `ViewerConfigError` when there is no store to configure or the site is unknown.
    """
    datasets = blueprint.datasets
    if site is not None:
        datasets = [d for d in datasets if d.id in _site_dataset_ids(blueprint, site)]
        if not datasets:
            raise ViewerConfigError(_unknown_site_message(blueprint, site))
    stores = [
        StoreRef(blueprint.project.id, dataset.location, dataset.id, store.id)
        for dataset in datasets
        for store in dataset.dicom_stores
    ]
    if not stores:
        where = f"site {site!r}" if site is not None else "the blueprint"
        raise ViewerConfigError(
            f"{where} declares no DICOM store (`datasets[].dicomStores`); "
            "there is nothing for a viewer to connect to"
        )
    return stores


def store_names(stores: list[StoreRef], reserved: frozenset[str] = frozenset()) -> list[str]:
    """One unique, URL-safe name per store: `{dataset}-{store}`, then `-2`, `-3`... on a clash
    with an earlier store or with `reserved`. Ids are letters, digits, `_`, `-` and `.`."""
    taken = set(reserved)
    names: list[str] = []
    for store in stores:
        base = f"{store.dataset}-{store.store}"
        name, counter = base, 2
        while name in taken:
            name, counter = f"{base}-{counter}", counter + 1
        taken.add(name)
        names.append(name)
    return names


def _site_dataset_ids(blueprint: Blueprint, site: str) -> set[str]:
    labelled = [d for d in blueprint.datasets if SITE_LABEL in d.labels]
    if labelled:
        return {d.id for d in labelled if d.labels[SITE_LABEL] == site}
    if blueprint.sites is None:
        return set()
    patterns = [
        _template_pattern(d.id, site) for d in blueprint.sites.template.datasets if "{site}" in d.id
    ]
    return {d.id for d in blueprint.datasets if any(p.fullmatch(d.id) for p in patterns)}


def _template_pattern(template: str, site: str) -> re.Pattern[str]:
    """A regex for what `template` renders to with `{site}` = `site` and any other values."""
    pieces: list[str] = []
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        pieces.append(re.escape(template[position : match.start()]))
        pieces.append(re.escape(site) if match.group(1) == "site" else ".+")
        position = match.end()
    pieces.append(re.escape(template[position:]))
    return re.compile("".join(pieces))


def _unknown_site_message(blueprint: Blueprint, site: str) -> str:
    known = sorted({d.labels[SITE_LABEL] for d in blueprint.datasets if SITE_LABEL in d.labels})
    hint = f" Sites found: {', '.join(known)}." if known else ""
    return (
        f"no dataset belongs to site {site!r}. A dataset belongs to a site when its "
        f'`{SITE_LABEL}` label names it (e.g. `labels: {{{SITE_LABEL}: "{{site}}"}}` in '
        f"`sites.template.datasets`).{hint}"
    )
