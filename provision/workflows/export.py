"""`export`: a blueprint of what a live project holds, every existing object adopted.

Reads only, through the kinds' reads (the project, its billing link, enabled APIs and IAM; the
datasets of each location and their stores; the project's buckets; the IAM of each), and writes
`blueprint.yaml` in the output folder. Datasets, stores and buckets get `adopt: true`, so
planning the result says *No changes* (adopting writes nothing, see `resources.ownership`).
IAM bindings are written as they are (additive), but Cloud Storage's default bucket members
(`projectOwner:P`, ...) and Google-managed service agents:
the Cloud Healthcare Service Agent's bucket grants become its `serviceAgents` grants. Nothing
secret is read, so nothing secret is written. DICOM imports are not exported: an import is an
operation, and what a store keeps of it (its label) is only a hash of the URI, so the URI
cannot be read back; the output says so. Stores that follow the project's site pattern (see
`export_sites`) are written as `sites.template` and one site file per site under `sites/`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from provision.errors import ProvisionError
from provision.files import replace_regular
from provision.model import JSON, Address, Observed, Resource
from provision.resources import addresses, registry
from provision.resources.base import Context
from provision.resources.healthcare import SERVICE as HEALTHCARE
from provision.resources.ownership import without_ownership
from provision.resources.service_agent import agent_member
from provision.resources.symbols import fact_key, resolve
from provision.workflows.export_sites import SITES_FOLDER, Sites, group_sites
from provision.workflows.ui import Connect, Ui

BLUEPRINT_FILE = "blueprint.yaml"
DEFAULT_LOCATION = "us-central1"
_GOOGLE_AGENT = re.compile(
    r"^serviceAccount:(service-\d+@gcp-sa-[a-z0-9-]+|\d+@cloudservices)\.(iam\.)?gserviceaccount\.com$"
)
"""Members Google manages (service agents): their bindings are Google's, not the blueprint's."""
_CONVENIENCE = ("projectOwner:", "projectEditor:", "projectViewer:")
IMPORTS_NOT_EXPORTED = (
    "DICOM imports are not exported: a store records only a hash of an import's URI,\n"
    "so declare each import (`imports`, or the site template's) yourself"
)
"""Cloud Storage's default bucket members (the project's owners, editors, viewers)."""


class ExportError(ProvisionError):
    """The project cannot be exported (e.g. it does not exist)."""


@dataclass(frozen=True)
class ExportRequest:
    project: str
    location: str | None = None
    """The Healthcare location whose datasets to export (default `DEFAULT_LOCATION`)."""
    out: Path = Path(".")
    """The folder `blueprint.yaml` is written to."""


def export(request: ExportRequest, ui: Ui, connect: Connect) -> Path:
    """Read the project and write its blueprint; returns the file written. ExportError when
    the project does not exist."""
    pid = request.project
    location = request.location or DEFAULT_LOCATION
    with connect() as api:
        ctx = Context.create(api).for_planning()
        document = _project(ctx, pid)
        agent = _healthcare_agent(pid, document.pop("number", None))
        datasets = _datasets(ctx, pid, location)
        buckets, grants = _buckets(ctx, pid, agent)
    sites = group_sites(pid, location, datasets, buckets, grants)
    if sites is not None:
        datasets, buckets, grants = sites.datasets, sites.buckets, sites.grants
    if datasets:
        document["datasets"] = datasets
    if buckets:
        document["buckets"] = buckets
    if grants:
        document["serviceAgents"] = [{"service": HEALTHCARE, "grants": grants}]
    path = request.out / BLUEPRINT_FILE
    request.out.mkdir(parents=True, exist_ok=True)
    written = [] if sites is None else _write_sites(document, sites, location, request.out)
    replace_regular(path, _yaml(pid, document))
    counted = f"{len(datasets)} dataset(s), {len(buckets)} bucket(s)"
    if sites is not None:
        counted += f", {len(sites.names)} site(s) ({', '.join(sites.names)})"
    ui.say(f"wrote {path}: project {pid}, {counted}; existing objects adopted")
    ui.say(IMPORTS_NOT_EXPORTED.replace("\n", " "))
    ui.record("blueprint", str(path))
    ui.record("siteFiles", [str(p) for p in written])
    return path


def _write_sites(document: dict[str, Any], sites: Sites, location: str, out: Path) -> list[Path]:
    """Add `sites` to `document` and write one site file per site; returns the files."""
    document["sites"] = {
        "include": f"{SITES_FOLDER}/*.yaml",
        "defaultLocation": location,
        "template": sites.template,
    }
    folder = out / SITES_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in sites.names:
        site_path = folder / f"{name}.yaml"
        head = f"# Site {name}: expanded through `sites.template` in {BLUEPRINT_FILE}.\n"
        replace_regular(site_path, head + yaml.safe_dump({"name": name}, sort_keys=False))
        written.append(site_path)
    return written


def _read(ctx: Context, address: Address, spec: JSON) -> Observed:
    return registry.get(address.kind).read(ctx, Resource(address, spec))


def _project(ctx: Context, pid: str) -> dict[str, Any]:
    project = _read(ctx, addresses.project(pid), {"projectId": pid})
    if not project.exists:
        raise ExportError(f"project {pid} does not exist (or this identity cannot see it)")
    fields = project.fields
    found: dict[str, Any] = {"id": pid, "create": False}
    for key in ("displayName", "parent"):
        if fields.get(key):
            found[key] = fields[key]
    billing = _read(ctx, addresses.billing(pid), {"projectId": pid, "billingAccountName": ""})
    if billing.fields.get("billingAccountName"):
        found["billingAccount"] = billing.fields["billingAccountName"]
    if fields.get("labels"):
        found["labels"] = dict(fields["labels"])
    document: dict[str, Any] = {"version": 1, "project": found}
    services = _read(ctx, addresses.services(pid), {"projectId": pid, "services": []})
    if services.fields.get("enabled"):
        document["services"] = sorted(services.fields["enabled"])
    iam = _bindings(_read(ctx, addresses.project_iam(pid), {"bindings": []}))
    if iam:
        document["iam"] = iam
    if fields.get("number"):
        document["number"] = str(fields["number"])
    return document


def _healthcare_agent(pid: str, number: str | None) -> str | None:
    """The Cloud Healthcare Service Agent as an IAM member (None: no project number)."""
    if number is None:
        return None
    return str(resolve(agent_member(pid, HEALTHCARE), {fact_key(pid): number}))


def _datasets(ctx: Context, pid: str, location: str) -> list[dict[str, Any]]:
    scan = _read(
        ctx, addresses.healthcare_location(pid, location), {"projectId": pid, "location": location}
    )
    found = []
    for dataset_id in scan.fields.get("datasets") or []:
        address = addresses.dataset(pid, location, dataset_id)
        spec = {"projectId": pid, "location": location, "datasetId": dataset_id}
        dataset = _read(ctx, address, spec)
        entry: dict[str, Any] = {"id": dataset_id, "location": location}
        if dataset.fields.get("timeZone"):
            entry["timeZone"] = dataset.fields["timeZone"]
        iam = _bindings(_read(ctx, addresses.dataset_iam(pid, location, dataset_id), {}))
        if iam:
            entry["iam"] = iam
        stores = [_store(ctx, address.name, s["id"]) for s in dataset.fields.get("stores") or []]
        if stores:
            entry["dicomStores"] = stores
        entry["adopt"] = True
        found.append(entry)
    return found


def _store(ctx: Context, dataset: str, store_id: str) -> dict[str, Any]:
    store = _read(ctx, addresses.dicom_store(dataset, store_id), {"labels": {}})
    entry: dict[str, Any] = {"id": store_id}
    labels = without_ownership(store.fields.get("labels") or {})
    if labels:
        entry["labels"] = labels
    for key in ("notificationConfigs", "streamConfigs"):
        if store.fields.get(key):
            entry[key] = store.fields[key]
    iam = _bindings(_read(ctx, addresses.dicom_store_iam(dataset, store_id), {}))
    if iam:
        entry["iam"] = iam
    entry["adopt"] = True
    return entry


def _buckets(
    ctx: Context, pid: str, agent: str | None
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    scan = _read(ctx, addresses.storage_project(pid), {"projectId": pid})
    found, grants = [], []
    for name in scan.fields.get("buckets") or []:
        bucket = _read(ctx, addresses.bucket(name), {"name": name, "projectId": pid})
        fields = bucket.fields
        entry: dict[str, Any] = {"name": name, "location": fields.get("location")}
        if fields.get("storageClass") not in (None, "STANDARD"):
            entry["storageClass"] = fields["storageClass"]
        entry["uniformBucketLevelAccess"] = bool(fields.get("uniformBucketLevelAccess"))
        labels = without_ownership(fields.get("labels") or {})
        if labels:
            entry["labels"] = labels
        policy = _read(ctx, addresses.bucket_iam(name), {})
        for binding in policy.fields.get("bindings") or []:
            if agent in (binding.get("members") or []) and not binding.get("condition"):
                grants.append({"role": str(binding["role"]), "bucket": name})
        iam = _bindings(policy)
        if iam:
            entry["iam"] = iam
        entry["adopt"] = True
        found.append(entry)
    return found, grants


def _bindings(policy: Observed) -> list[dict[str, Any]]:
    """The policy's bindings as blueprint `iam` entries (additive), Google's agents left out."""
    out = []
    for binding in policy.fields.get("bindings") or []:
        members = [
            m
            for m in binding.get("members") or []
            if not _GOOGLE_AGENT.match(str(m)) and not str(m).startswith(_CONVENIENCE)
        ]
        if not members:
            continue
        entry: dict[str, Any] = {"role": str(binding["role"]), "members": sorted(members)}
        condition = binding.get("condition")
        if condition:
            entry["condition"] = {
                k: condition[k] for k in ("title", "description", "expression") if k in condition
            }
        out.append(entry)
    return sorted(out, key=lambda b: (b["role"], str(b.get("condition"))))


def _yaml(pid: str, document: Mapping[str, Any]) -> str:
    head = (
        f"# Exported from project {pid} by `provision export`: every existing object is adopted\n"
        "# (`adopt: true`), so `provision plan` of this file says No changes. Review it, then\n"
        "# keep it under version control.\n"
        + "".join(f"# {line}\n" for line in f"{IMPORTS_NOT_EXPORTED}.".splitlines())
    )
    return head + yaml.safe_dump(dict(document), sort_keys=False, default_flow_style=False)
