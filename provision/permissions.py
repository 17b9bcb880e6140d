"""`validate --check-permissions`: does the applying identity hold what apply will need?

`NEEDS` is the table of permissions each kind of object needs, with the least-privilege role
that grants them (README "Least privilege"). `requirements` turns a blueprint into checks, each
on the object itself when it exists, else on its nearest existing parent (a store's dataset,
the project, the project's organization or folder): that is where a create is authorised.
`check` asks Google with `testIamPermissions` on each of those resources (one call per
resource) and answers, per permission, held or missing. Nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from provision.errors import GoogleApiError

if TYPE_CHECKING:
    from provision.blueprint.schema import Blueprint
    from provision.gcp.api import GoogleApi


@dataclass(frozen=True)
class Need:
    """What one kind of object needs: on itself once it exists, and to be created."""

    role: str
    existing: tuple[str, ...]
    create: tuple[str, ...] = ()


NEEDS: dict[str, Need] = {
    "project": Need(
        "roles/resourcemanager.projectCreator (on the parent)",
        ("resourcemanager.projects.get", "resourcemanager.projects.update"),
        ("resourcemanager.projects.create",),
    ),
    "billing": Need(
        "roles/billing.user (on the billing account)",
        ("billing.resourceAssociations.create",),
    ),
    "services": Need(
        "roles/serviceusage.serviceUsageAdmin",
        ("serviceusage.services.list", "serviceusage.services.get", "serviceusage.services.enable"),
    ),
    "project_iam": Need(
        "roles/resourcemanager.projectIamAdmin",
        ("resourcemanager.projects.getIamPolicy", "resourcemanager.projects.setIamPolicy"),
    ),
    "healthcare.dataset": Need(
        "roles/healthcare.datasetAdmin",
        ("healthcare.datasets.get", "healthcare.datasets.update"),
        ("healthcare.datasets.create",),
    ),
    "healthcare.dataset_iam": Need(
        "roles/healthcare.datasetAdmin",
        ("healthcare.datasets.getIamPolicy", "healthcare.datasets.setIamPolicy"),
    ),
    "healthcare.dicom_store": Need(
        "roles/healthcare.dicomStoreAdmin",
        ("healthcare.dicomStores.get", "healthcare.dicomStores.update"),
        ("healthcare.dicomStores.create",),
    ),
    "healthcare.dicom_store_iam": Need(
        "roles/healthcare.dicomStoreAdmin",
        ("healthcare.dicomStores.getIamPolicy", "healthcare.dicomStores.setIamPolicy"),
    ),
    "healthcare.dicom_import": Need(
        "roles/healthcare.dicomEditor (on the store)",
        ("healthcare.dicomStores.import",),
    ),
    "storage.project": Need(
        "roles/storage.admin (on the project, to list and create buckets)",
        ("storage.buckets.list",),
    ),
    "storage.bucket": Need(
        "roles/storage.admin (on the bucket once it exists)",
        ("storage.buckets.get", "storage.buckets.update"),
        ("storage.buckets.create",),
    ),
    "storage.bucket_iam": Need(
        "roles/storage.admin (on the bucket)",
        ("storage.buckets.getIamPolicy", "storage.buckets.setIamPolicy"),
    ),
    "lease": Need(
        "roles/storage.objectUser (on the lease bucket)",
        ("storage.objects.list", "storage.objects.create", "storage.objects.update"),
    ),
}
"""Permissions per kind, and the least-privilege predefined role that holds them."""


@dataclass(frozen=True)
class Requirement:
    """`permissions` needed for `kind` `target`, tested on `resource` (`why` says why there)."""

    kind: str
    target: str
    resource: str
    permissions: tuple[str, ...]
    why: str = ""


@dataclass(frozen=True)
class Result:
    requirement: Requirement
    permission: str
    held: bool | None
    """None when it could not be checked (`note` says why)."""
    note: str = ""


# -- which resources exist ----------------------------------------------------------------


def _exists(call: Callable[[], object]) -> bool:
    """True when the read succeeds; False on 404, and on 403 (unknown project or no access:
    the check then moves to the parent, where a missing permission shows as missing)."""
    try:
        call()
    except GoogleApiError as error:
        if error.http_status in (403, 404):
            return False
        raise
    return True


def requirements(blueprint: Blueprint, api: GoogleApi) -> list[Requirement]:
    """Every check the blueprint calls for, each on the object or its nearest existing parent."""
    pid = blueprint.project.id
    project = f"projects/{pid}"
    project_exists = _exists(lambda: api.call("cloudresourcemanager.projects.get", name=project))
    parent = blueprint.project.parent
    out: list[Requirement] = []

    def on_project(kind: str, target: str, permissions: tuple[str, ...]) -> None:
        if project_exists:
            out.append(Requirement(kind, target, project, permissions))
        elif parent:
            why = "the project does not exist yet"
            out.append(Requirement(kind, target, parent, permissions, why))
        else:
            why = "the project does not exist and has no parent"
            out.append(Requirement(kind, target, "", permissions, why))

    need = NEEDS["project"]
    if project_exists:
        out.append(Requirement("project", project, project, need.existing))
    else:
        on_project("project", project, need.create)
    if blueprint.project.billing_account:
        account = blueprint.project.billing_account
        out.append(Requirement("billing", project, account, NEEDS["billing"].existing))
    if blueprint.services:
        on_project("services", project, NEEDS["services"].existing)
    agent_project_grants = any(
        grant.project for agent in blueprint.service_agents for grant in agent.grants or []
    )
    if blueprint.iam or agent_project_grants:
        on_project("project_iam", project, NEEDS["project_iam"].existing)

    for dataset in blueprint.datasets:
        name = f"{project}/locations/{dataset.location}/datasets/{dataset.id}"
        dataset_exists = project_exists and _exists(
            partial(api.call, "healthcare.projects.locations.datasets.get", name=name)
        )
        need = NEEDS["healthcare.dataset"]
        if dataset_exists:
            out.append(Requirement("healthcare.dataset", name, name, need.existing))
            if dataset.iam:
                iam = NEEDS["healthcare.dataset_iam"].existing
                out.append(Requirement("healthcare.dataset_iam", name, name, iam))
        else:
            on_project("healthcare.dataset", name, need.create + need.existing)
            if dataset.iam:
                on_project("healthcare.dataset_iam", name, NEEDS["healthcare.dataset_iam"].existing)
        for store in dataset.dicom_stores:
            store_name = f"{name}/dicomStores/{store.id}"
            store_exists = dataset_exists and _exists(
                partial(
                    api.call,
                    "healthcare.projects.locations.datasets.dicomStores.get",
                    name=store_name,
                )
            )
            wanted = ["healthcare.dicom_store"]
            if store.iam:
                wanted.append("healthcare.dicom_store_iam")
            if any(item.dicom_store == f"{dataset.id}/{store.id}" for item in blueprint.imports):
                wanted.append("healthcare.dicom_import")
            for kind in wanted:
                kind_need = NEEDS[kind]
                if store_exists:
                    out.append(Requirement(kind, store_name, store_name, kind_need.existing))
                elif dataset_exists:
                    why = "the store does not exist yet"
                    perms = kind_need.create + kind_need.existing
                    out.append(Requirement(kind, store_name, name, perms, why))
                else:
                    on_project(kind, store_name, kind_need.create + kind_need.existing)

    agent_buckets = {
        grant.bucket
        for agent in blueprint.service_agents
        for grant in agent.grants or []
        if grant.bucket
    }
    if blueprint.buckets:
        on_project("storage.project", f"{project}/buckets", NEEDS["storage.project"].existing)
    for bucket in blueprint.buckets:
        target = f"projects/_/buckets/{bucket.name}"
        bucket_exists = _exists(partial(api.call, "storage.buckets.get", bucket=bucket.name))
        kinds = ["storage.bucket"]
        if bucket.iam or bucket.name in agent_buckets or blueprint.imports:
            kinds.append("storage.bucket_iam")
        for kind in kinds:
            kind_need = NEEDS[kind]
            if bucket_exists:
                out.append(Requirement(kind, target, target, kind_need.existing))
            else:
                on_project(kind, target, kind_need.create + kind_need.existing)
    lease_bucket = blueprint.lease.bucket or (
        blueprint.buckets[0].name if blueprint.buckets else None
    )
    if lease_bucket:
        target = f"projects/_/buckets/{lease_bucket}"
        if _exists(lambda: api.call("storage.buckets.get", bucket=lease_bucket)):
            out.append(Requirement("lease", target, target, NEEDS["lease"].existing))
    return out


# -- asking Google --------------------------------------------------------------------------


def test_permissions(api: GoogleApi, resource: str, permissions: list[str]) -> set[str]:
    """The subset of `permissions` the caller holds on `resource` (one testIamPermissions)."""
    body = {"permissions": permissions}
    if resource.startswith("projects/_/buckets/"):
        bucket = resource.rsplit("/", 1)[-1]
        answer = api.call(
            "storage.buckets.testIamPermissions", bucket=bucket, permissions=permissions
        )
    elif resource.startswith("billingAccounts/"):
        answer = api.call(
            "cloudbilling.billingAccounts.testIamPermissions", resource=resource, body=body
        )
    elif resource.startswith("organizations/"):
        answer = api.call(
            "cloudresourcemanager.organizations.testIamPermissions", resource=resource, body=body
        )
    elif resource.startswith("folders/"):
        answer = api.call(
            "cloudresourcemanager.folders.testIamPermissions", resource=resource, body=body
        )
    elif "/dicomStores/" in resource:
        answer = api.call(
            "healthcare.projects.locations.datasets.dicomStores.testIamPermissions",
            resource=resource,
            body=body,
        )
    elif "/datasets/" in resource:
        answer = api.call(
            "healthcare.projects.locations.datasets.testIamPermissions",
            resource=resource,
            body=body,
        )
    else:
        answer = api.call(
            "cloudresourcemanager.projects.testIamPermissions", resource=resource, body=body
        )
    return {str(p) for p in answer.get("permissions") or []}


def check(api: GoogleApi, needed: list[Requirement]) -> list[Result]:
    """One testIamPermissions per resource; a Result per requirement and permission."""
    by_resource: dict[str, list[str]] = {}
    for requirement in needed:
        if requirement.resource:
            asked = by_resource.setdefault(requirement.resource, [])
            asked += [p for p in requirement.permissions if p not in asked]
    held: dict[str, set[str]] = {}
    failures: dict[str, str] = {}
    for resource, permissions in by_resource.items():
        try:
            held[resource] = test_permissions(api, resource, permissions)
        except GoogleApiError as error:
            failures[resource] = f"cannot test: {error.http_status} {error.message}"
    results: list[Result] = []
    for requirement in needed:
        for permission in requirement.permissions:
            if not requirement.resource:
                results.append(Result(requirement, permission, None, requirement.why))
            elif requirement.resource in failures:
                results.append(
                    Result(requirement, permission, False, failures[requirement.resource])
                )
            else:
                ok = permission in held[requirement.resource]
                results.append(Result(requirement, permission, ok, requirement.why))
    return results
