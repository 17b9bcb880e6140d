"""Kind `project_iam` (`projects/{id}`): bindings on the project's IAM policy.

spec = {"bindings": [{"role", "members", "condition"?, "authoritative"?}, ...]}
Semantics and the read-modify-write live in `provision.resources.iam`.
"""

from __future__ import annotations

from provision.model import JSON
from provision.resources import addresses, resource_manager
from provision.resources.base import Context, Needs
from provision.resources.iam import IamKind
from provision.resources.registry import register


@register
class ProjectIamKind(IamKind):
    name = addresses.PROJECT_IAM
    parent_kind = addresses.PROJECT
    api = resource_manager.API
    set_method = resource_manager.SET_POLICY
    needs = Needs(
        "roles/resourcemanager.projectIamAdmin",
        ("resourcemanager.projects.getIamPolicy", "resourcemanager.projects.setIamPolicy"),
    )
    iam_admin_roles = frozenset(
        {"roles/owner", "roles/resourcemanager.projectIamAdmin", "roles/iam.securityAdmin"}
    )

    def get_policy(self, ctx: Context, resource_name: str) -> JSON:
        return resource_manager.get_policy(ctx.api, resource_name)

    def set_policy(self, ctx: Context, resource_name: str, policy: JSON) -> JSON:
        return resource_manager.set_policy(ctx.api, resource_name, policy)
