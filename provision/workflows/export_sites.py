"""Sites in an export: the objects the project's own site templates make, grouped back.

A site `S` is recognised when dataset `S-imaging` holds exactly one DICOM store, `S-dicom`, and
the bucket `PROJECT-S-import` exists: the pattern of `blueprints/dev.yaml`'s `sites.template`
(and `provision onboard`). Each site's entries (its dataset, bucket and the Cloud Healthcare
Service Agent's grants on that bucket) are turned into a template by writing its site name,
the project id and the location as `{site}`, `{project}` and `{location}` (braces doubled).
The sites whose templates are equal to the most common one are grouped: the template renders
back to exactly what each of them holds, so the exported blueprint still plans No changes.
Everything else stays a plain entry.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from provision.blueprint import rules

SITES_FOLDER = "sites"
DATASET_SUFFIX = "-imaging"
STORE_SUFFIX = "-dicom"
BUCKET_SUFFIX = "-import"


@dataclass
class Sites:
    """The grouped sites (sorted) and their template; what is left as plain entries."""

    names: list[str]
    template: dict[str, Any]
    datasets: list[dict[str, Any]] = field(default_factory=list)
    buckets: list[dict[str, Any]] = field(default_factory=list)
    grants: list[dict[str, str]] = field(default_factory=list)


def group_sites(
    project: str,
    location: str,
    datasets: list[dict[str, Any]],
    buckets: list[dict[str, Any]],
    grants: list[dict[str, str]],
) -> Sites | None:
    """The sites among these exported entries, or None when none follows the pattern."""
    by_bucket = {b["name"]: b for b in buckets}
    found: dict[str, dict[str, Any]] = {}
    for dataset in datasets:
        site = _site_of(dataset)
        bucket = by_bucket.get(f"{project}-{site}{BUCKET_SUFFIX}") if site else None
        if site is None or bucket is None:
            continue
        entries: dict[str, Any] = {"datasets": [dataset], "buckets": [_lowered(bucket, location)]}
        mine = [dict(g) for g in grants if g["bucket"] == bucket["name"]]
        if mine:
            entries["serviceAgentGrants"] = mine
        found[site] = _templated(entries, {project: "project", location: "location", site: "site"})
    if not found:
        return None
    keys = {site: json.dumps(t, sort_keys=True) for site, t in found.items()}
    common = Counter(keys.values()).most_common(1)[0][0]
    names = sorted(site for site, key in keys.items() if key == common)
    template = found[names[0]]
    datasets_of = {f"{s}{DATASET_SUFFIX}" for s in names}
    buckets_of = {f"{project}-{s}{BUCKET_SUFFIX}" for s in names}
    return Sites(
        names,
        template,
        [d for d in datasets if d["id"] not in datasets_of],
        [b for b in buckets if b["name"] not in buckets_of],
        [g for g in grants if g["bucket"] not in buckets_of],
    )


def _site_of(dataset: Mapping[str, Any]) -> str | None:
    """`S` for dataset `S-imaging` holding only the store `S-dicom` (S a valid site name)."""
    dataset_id = str(dataset["id"])
    if not dataset_id.endswith(DATASET_SUFFIX):
        return None
    site = dataset_id.removesuffix(DATASET_SUFFIX)
    stores = [s["id"] for s in dataset.get("dicomStores") or []]
    if rules.check_site_name(site) is not None or stores != [f"{site}{STORE_SUFFIX}"]:
        return None
    return site


def _lowered(bucket: dict[str, Any], location: str) -> dict[str, Any]:
    """The bucket with its location as the dataset's (Google spells it in capitals; the
    planner compares bucket locations without case)."""
    if str(bucket.get("location") or "").lower() == location.lower():
        return {**bucket, "location": location}
    return bucket


def _templated(value: Any, placeholders: Mapping[str, str]) -> Any:
    """`value` with each string's literal braces doubled and each occurrence of a key of
    `placeholders` written as `{NAME}` (longest first, in one pass)."""
    if isinstance(value, dict):
        return {k: _templated(v, placeholders) for k, v in value.items()}
    if isinstance(value, list):
        return [_templated(v, placeholders) for v in value]
    if not isinstance(value, str):
        return value
    pattern = "|".join(re.escape(k) for k in sorted(placeholders, key=len, reverse=True) if k)
    escaped = value.replace("{", "{{").replace("}", "}}")
    return re.sub(pattern, lambda m: "{" + placeholders[m.group()] + "}", escaped)
