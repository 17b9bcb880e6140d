"""Cloud Resource Manager as the project kinds share it (no kind of its own).

Declared once here: the policy methods, the project's IAM policy read and write (the `project_iam`
kind and the service agents' project role), and a project's number, which the symbols
`${project_number:P}` stand for (see `symbols`; `Context.create` looks numbers up with
`number_lookup`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from provision.errors import GoogleApiError
from provision.gcp.methods import FOLDERS, ORGANIZATIONS, PROJECTS
from provision.model import JSON
from provision.resources.addresses import project_name
from provision.resources.symbols import fact_key

if TYPE_CHECKING:
    from provision.gcp.api import GoogleApi

API = "cloudresourcemanager"
"""The API as the gateway names it (`Kind.api`)."""
COLLECTIONS = {"projects": PROJECTS, "organizations": ORGANIZATIONS, "folders": FOLDERS}
"""The method id prefix of each kind of Resource Manager name (`projects/...`, ...)."""
GET_POLICY = f"{PROJECTS}.getIamPolicy"
SET_POLICY = f"{PROJECTS}.setIamPolicy"
POLICY_VERSION = 3


def get_policy(api: GoogleApi, project: str) -> JSON:
    """The IAM policy of `project` (`projects/{id}`)."""
    return api.call(
        GET_POLICY, resource=project, body={"options": {"requestedPolicyVersion": POLICY_VERSION}}
    )


def set_policy(api: GoogleApi, project: str, policy: JSON, update_mask: str | None = None) -> JSON:
    """Write `project`'s IAM policy. Without `update_mask` Google writes only `bindings` and
    `etag` (its documented default); the audit configs need a mask naming `auditConfigs`."""
    body: JSON = {"policy": policy}
    if update_mask:
        body["updateMask"] = update_mask
    return api.call(SET_POLICY, resource=project, body=body)


def test_permissions(api: GoogleApi, name: str, permissions: Sequence[str]) -> set[str]:
    """Which of `permissions` the caller holds on the project, organization or folder `name`."""
    method = f"{COLLECTIONS[name.split('/', 1)[0]]}.testIamPermissions"
    answer = api.call(method, resource=name, body={"permissions": list(permissions)})
    return {str(p) for p in answer.get("permissions") or []}


def number_of(project: Mapping[str, Any]) -> str | None:
    """The NUMBER of a Resource Manager v3 Project, from its name `projects/{NUMBER}`."""
    name = str(project.get("name", ""))
    return name.split("/", 1)[1] if name.startswith("projects/") else None


def number_lookup(api: GoogleApi) -> Callable[[str], str | None]:
    """For `Facts(lookup=...)`: learn a project's number by reading the project (None when it
    cannot be read)."""

    def lookup(key: str) -> str | None:
        prefix = fact_key("")
        if not key.startswith(prefix):
            return None
        try:
            project = api.call(f"{PROJECTS}.get", name=project_name(key[len(prefix) :]))
        except GoogleApiError:
            return None
        return number_of(project)

    return lookup
