"""`verify`: does the provisioned site actually work? Reads only; returns checks, prints nothing.

For a blueprint, against the live state:

* every DICOM store answers a QIDO-RS study search (`GET {store}/dicomWeb/studies`; 200 or
  204 both count), with its study and instance counts;
* every import is recorded as done on its store, and the store holds instances;
* the Cloud Healthcare Service Agent holds `roles/storage.objectViewer` (or a role including it)
  on every bucket an import reads from (the bucket's IAM policy);
* every member the blueprint grants a role on a dataset or DICOM store holds it (their IAM
  policies) — the viewer principals OHIF and Orthanc users sign in as.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from provision.blueprint.expand import expand
from provision.blueprint.loader import LoadedBlueprint
from provision.errors import GoogleApiError, ProvisionError
from provision.gcp.api import LIST_RESULT
from provision.model import Address, Resource
from provision.resources import addresses, registry
from provision.resources.base import Context
from provision.resources.dicom_import import DONE, label_key
from provision.resources.healthcare import DICOM_STORES, READER_ROLES, SERVICE
from provision.resources.iam import IamKind
from provision.resources.iam_policy import roles_held
from provision.resources.service_agent import agent_member

IAM_KINDS = ("healthcare.dataset_iam", "healthcare.dicom_store_iam")
WORKERS = 8


@dataclass(frozen=True)
class Check:
    """One verified fact: `check` (what), `target` (on which object), whether it holds, why."""

    check: str
    target: str
    ok: bool
    detail: str


def verify_blueprint(
    loaded: LoadedBlueprint, ctx: Context, only: AbstractSet[Address] | None = None
) -> list[Check]:
    """Every check for `loaded` (in blueprint order); never raises for a failed check.

    `only`: check just these addresses (e.g. one site's, see `provision.site_scope`)."""
    resources = expand(loaded)
    if only is not None:
        resources = [r for r in resources if r.address in only]
    pid = loaded.blueprint.project.id
    jobs: list[Callable[[], Check]] = []
    for resource in resources:
        kind = resource.address.kind
        if kind == "healthcare.dicom_store":
            jobs.append(_bind(check_dicomweb, ctx, resource.address.name))
        elif kind == "healthcare.dicom_import":
            jobs.append(_bind(check_import, ctx, resource.spec["store"], resource.spec["uri"]))
        elif kind in IAM_KINDS:
            jobs += [_bind(check_binding, ctx, resource, b) for b in resource.spec["bindings"]]
    uris = [r.spec["uri"] for r in resources if r.address.kind == "healthcare.dicom_import"]
    buckets = dict.fromkeys(addresses.bucket_of_uri(uri) for uri in uris)
    jobs += [_bind(check_agent_reads, ctx, pid, bucket) for bucket in buckets]
    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(lambda job: job(), jobs))


def check_dicomweb(ctx: Context, store: str) -> Check:
    studies = search(ctx, store, "studies")
    instances = search(ctx, store, "instances")
    return Check(
        "DICOMweb answers", store, True, f"{_count(studies, 'study')}, {_count(instances)}"
    )


def check_import(ctx: Context, store: str, uri: str) -> Check:
    what = f"{store} <- {uri}"
    found = ctx.api.call(f"{DICOM_STORES}.get", name=store)
    label = str((found.get("labels") or {}).get(label_key(uri), ""))
    instances = search(ctx, store, "instances")
    if label != DONE:
        state = f"in progress or failed ({label})" if label else "not run yet"
        return Check(
            "import done", what, False, f"import {state}; the store holds {_count(instances)}"
        )
    if not instances:
        return Check("import done", what, False, "recorded as done, but the store is empty")
    studies = search(ctx, store, "studies")
    return Check("import done", what, True, f"{_count(studies, 'study')}, {_count(instances)}")


def check_agent_reads(ctx: Context, project_id: str, bucket: str) -> Check:
    member = str(ctx.facts.resolve_fully(agent_member(project_id, SERVICE), "service agent"))
    target = f"gs://{bucket}"
    policy = _iam("storage.bucket_iam").get_policy(ctx, addresses.bucket_name(bucket))
    roles = sorted(role for role in roles_held(policy, member) if role in READER_ROLES)
    what = "service agent reads bucket"
    if roles:
        return Check(what, target, True, f"{member.split(':', 1)[1]} has {', '.join(roles)}")
    return Check(
        what,
        target,
        False,
        f"{member.split(':', 1)[1]} lacks roles/storage.objectViewer; imports from this "
        "bucket fail",
    )


def check_binding(ctx: Context, resource: Resource, binding: Mapping[str, Any]) -> Check:
    role = str(binding["role"])
    policy = _iam(resource.address.kind).get_policy(ctx, resource.address.name)
    members = [str(ctx.facts.resolve_fully(m, role)) for m in binding.get("members") or []]
    missing = [m for m in members if role not in roles_held(policy, m)]
    what = f"{role} held"
    if missing:
        return Check(what, resource.address.name, False, f"missing: {', '.join(missing)}")
    return Check(what, resource.address.name, True, ", ".join(members))


def search(ctx: Context, store: str, level: str) -> int:
    """How many studies or instances a QIDO-RS search returns (204 = none)."""
    method = "searchForStudies" if level == "studies" else "searchForInstances"
    answer = ctx.api.call(f"{DICOM_STORES}.{method}", parent=store, dicomWebPath=level)
    found = answer.get(LIST_RESULT) or []
    return len(found) if isinstance(found, list) else 0


def _count(number: int, noun: str = "instance") -> str:
    plural = "studies" if noun == "study" else f"{noun}s"
    return f"{number} {noun if number == 1 else plural}"


def _iam(kind: str) -> IamKind:
    found = registry.get(kind)
    assert isinstance(found, IamKind)
    return found


def _bind(fn: Callable[..., Check], *args: Any) -> Callable[[], Check]:
    def job() -> Check:
        try:
            return fn(*args)
        except (GoogleApiError, ProvisionError) as error:
            return _failed(fn, args, error)

    return job


def _failed(fn: Callable[..., Check], args: Iterable[Any], error: Exception) -> Check:
    names = {
        "check_dicomweb": "DICOMweb answers",
        "check_import": "import done",
        "check_agent_reads": "service agent reads bucket",
        "check_binding": "IAM binding held",
    }
    target = next((a for a in args if isinstance(a, str) and "/" in a), "")
    for arg in args:
        if isinstance(arg, Resource):
            target = arg.address.name
    message = getattr(error, "message", None) or str(error)
    return Check(names.get(fn.__name__, fn.__name__), target, False, f"cannot check: {message}")
