"""Blueprint -> the list of desired `Resource`s with their dependencies.

One function per kind group; each returns resources whose `depends_on` names the addresses
(`provision.resources.addresses`) they need to exist first. Specs use Google's field names.
The order of the result is the blueprint's order (plans show changes in dependency order).
"""

from __future__ import annotations

from provision.blueprint.loader import LoadedBlueprint
from provision.blueprint.schema import Binding, Blueprint
from provision.model import JSON, Address, Resource
from provision.resources import addresses


def expand(loaded: LoadedBlueprint) -> list[Resource]:
    """Every resource the blueprint declares, with dependencies between them."""
    blueprint = loaded.blueprint
    resources: list[Resource] = []
    resources += project_resources(loaded, blueprint)
    return resources


def project_resources(loaded: LoadedBlueprint, blueprint: Blueprint) -> list[Resource]:
    """The project, its billing link, its enabled services and its IAM bindings."""
    project = blueprint.project
    pid = project.id
    project_address = addresses.project(pid)
    spec: JSON = {"projectId": pid, "labels": dict(project.labels), "create": project.create}
    if project.display_name:
        spec["displayName"] = project.display_name
    if project.parent:
        spec["parent"] = project.parent
    out = [Resource(project_address, spec, (), loaded.locate("project"))]
    service_deps: list[Address] = [project_address]
    if project.billing_account:
        billing = Resource(
            addresses.billing(pid),
            {"projectId": pid, "billingAccountName": project.billing_account},
            (project_address,),
            loaded.locate("project.billingAccount"),
        )
        out.append(billing)
        service_deps.append(billing.address)
    if blueprint.services:
        out.append(
            Resource(
                addresses.services(pid),
                {"projectId": pid, "services": sorted(set(blueprint.services))},
                tuple(service_deps),
                loaded.locate("services"),
            )
        )
    if blueprint.iam:
        out.append(
            Resource(
                addresses.project_iam(pid),
                {"bindings": [binding_spec(b) for b in blueprint.iam]},
                (project_address,),
                loaded.locate("iam"),
            )
        )
    return out


def binding_spec(binding: Binding) -> JSON:
    """A blueprint IAM binding in the shared IAM spec shape (see provision.resources.iam)."""
    spec: JSON = {"role": binding.role, "members": list(binding.members)}
    if binding.condition is not None:
        condition: JSON = {
            "title": binding.condition.title,
            "expression": binding.condition.expression,
        }
        if binding.condition.description:
            condition["description"] = binding.condition.description
        spec["condition"] = condition
    if binding.authoritative:
        spec["authoritative"] = True
    return spec
