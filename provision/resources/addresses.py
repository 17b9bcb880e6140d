"""Address constructors for every kind (pure; the graph keys used by expansion and kinds)."""

from __future__ import annotations

from provision.model import Address


def project(project_id: str) -> Address:
    return Address("project", f"projects/{project_id}")


def billing(project_id: str) -> Address:
    return Address("billing", f"projects/{project_id}/billingInfo")


def services(project_id: str) -> Address:
    return Address("services", f"projects/{project_id}/services")


def project_iam(project_id: str) -> Address:
    return Address("project_iam", f"projects/{project_id}")
