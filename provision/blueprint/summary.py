"""A one-line count of what a blueprint declares, e.g. for `provision validate`."""

from __future__ import annotations

from provision.blueprint.schema import Blueprint


def _count(number: int, singular: str, plural: str | None = None) -> str:
    return f"{number} {singular if number == 1 else (plural or singular + 's')}"


def summarize(blueprint: Blueprint) -> str:
    """`1 project, 3 services, 2 datasets, ...`: every section a blueprint declares objects in
    (after site expansion); kinds with nothing declared are left out."""
    stores = sum(len(d.dicom_stores) for d in blueprint.datasets)
    bindings = (
        len(blueprint.iam)
        + sum(len(d.iam) + sum(len(s.iam) for s in d.dicom_stores) for d in blueprint.datasets)
        + sum(len(b.iam) for b in blueprint.buckets)
    )
    grants = sum(len(a.grants or ()) for a in blueprint.service_agents)
    parts = [
        _count(1, "project"),
        _count(len(blueprint.services), "service"),
        _count(len(blueprint.custom_roles), "custom role"),
        _count(len(blueprint.datasets), "dataset"),
        _count(stores, "DICOM store"),
        _count(len(blueprint.buckets), "bucket"),
        _count(bindings, "IAM binding"),
        _count(len(blueprint.service_agents), "service agent"),
        _count(grants, "service-agent grant"),
        _count(len(blueprint.topics), "topic"),
        _count(len(blueprint.bigquery_datasets), "BigQuery dataset"),
        _count(len(blueprint.imports), "import"),
        _count(len(blueprint.deidentify), "de-identified copy", "de-identified copies"),
        _count(len(blueprint.key_rings), "key ring"),
        _count(sum(len(r.crypto_keys) for r in blueprint.key_rings), "crypto key"),
        _count(len(blueprint.audit_logs), "audit log config"),
    ]
    return ", ".join(p for p in parts if not p.startswith("0 "))
