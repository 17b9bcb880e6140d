"""Kind `service_agent` (`projects/{p}/serviceAgents/{service}`): a Google service agent.

spec = {"projectId", "service", "email": "service-${project_number:P}@gcp-sa-...",
        "role": "roles/healthcare.serviceAgent" | None}

The agent's e-mail is derived from the project NUMBER (a symbol until the project exists).
Google creates the agent some time after the API is enabled and then grants it its role on the
project; `generateServiceIdentity` (Service Usage v1beta1) creates it on demand but grants
nothing. So:

* read: the project's IAM policy (one call). The agent counts as present when it is a member of
  any binding there; otherwise the plan says `create`.
* create: `generateServiceIdentity` (idempotent, answers at once), then grant the agent its
  role on the project (as Google would have), waiting with bounded backoff while Google still
  answers 400 "Service account ... does not exist.".

The grants the blueprint gives the agent (bucket, project, dataset) are bindings of the IAM
resources of those targets, which depend on this one (see `blueprint.expand`).
"""

from __future__ import annotations

from collections.abc import Mapping

from provision.errors import ApplyError
from provision.gcp.methods import SERVICES
from provision.gcp.names import service_agent_email
from provision.model import JSON, Action, Change, FieldDiff, Observed, Resource
from provision.resources import addresses, healthcare, resource_manager
from provision.resources.addresses import project_name, service_name
from provision.resources.base import Context, Kind, Options
from provision.resources.iam import policy_read_key, read_modify_write, until_agents_exist
from provision.resources.iam_policy import WantedBinding, member_key, merge
from provision.resources.registry import register
from provision.resources.services import API
from provision.resources.symbols import display, project_number_ref

AGENT_ROLES: Mapping[str, str] = {healthcare.SERVICE: healthcare.AGENT_ROLE}
"""The role Google grants each service's agent on the project when it creates it."""


def agent_spec(project_id: str, service: str) -> JSON:
    """The spec of `service`'s agent in `project_id` (its e-mail still symbolic)."""
    return {
        "projectId": project_id,
        "service": service,
        "email": service_agent_email(service, project_number_ref(project_id)),
        "role": AGENT_ROLES.get(service),
    }


def agent_member(project_id: str, service: str) -> str:
    return f"serviceAccount:{agent_spec(project_id, service)['email']}"


@register
class ServiceAgentKind(Kind):
    name = addresses.SERVICE_AGENT
    api = API

    def outputs(self, ctx: Context, change: Change) -> Mapping[str, str]:
        """The agent's e-mail and the project roles it holds."""
        shown = {"email": display(str((change.after or {}).get("email", "")))}
        roles = (change.before or {}).get("roles")
        if roles:
            shown["roles"] = ", ".join(str(role) for role in roles)
        return shown

    def read(self, ctx: Context, resource: Resource) -> Observed:
        project = project_name(resource.spec["projectId"])
        policy = ctx.read_once(
            policy_read_key(project), lambda: resource_manager.get_policy(ctx.api, project)
        )
        member = member_key(f"serviceAccount:{resource.spec['email']}")
        roles = sorted(
            str(b.get("role"))
            for b in policy.get("bindings") or []
            if member in {member_key(m) for m in b.get("members") or []}
        )
        return Observed(
            exists=bool(roles), fields={"email": resource.spec["email"], "roles": roles}
        )

    def diff(self, resource: Resource, observed: Observed, options: Options) -> Change:
        spec = dict(resource.spec)
        if observed.exists:
            return Change(
                resource.address,
                Action.NOOP,
                before=dict(observed.fields),
                after=spec,
                depends_on=resource.depends_on,
                observed_exists=True,
            )
        role = spec.get("role")
        grant = f" and grant it {role} on the project, as Google does" if role else ""
        return Change(
            resource.address,
            Action.CREATE,
            after=spec,
            diffs=(FieldDiff("email", None, spec["email"]),),
            reason=(
                f"ensures the agent exists (generateServiceIdentity){grant}"
                + ("; it is not in the project's IAM policy yet" if observed.fields else "")
            ),
            depends_on=resource.depends_on,
            observed_exists=False if observed.fields else None,
        )

    def create(self, ctx: Context, change: Change) -> Observed | None:
        spec = change.after or {}
        project_id, service, email = spec["projectId"], spec["service"], spec["email"]
        project = project_name(project_id)
        operation = ctx.api.call(
            f"{SERVICES}.generateServiceIdentity",
            version="v1beta1",
            parent=service_name(project_id, service),
        )
        done = ctx.api.wait(
            operation,
            api=API,
            what=f"creating the service agent of {service}",
            progress=ctx.progress,
        )
        response = done.get("response")
        returned = response.get("email") if isinstance(response, dict) else None
        if returned and str(returned).lower() != str(email).lower():
            raise ApplyError(
                f"{change.address}: Google named the agent {returned}, not {email} as derived "
                "from the project number; grants to it would not work"
            )
        roles: list[str] = []
        role = spec.get("role")
        if role:
            wanted = [WantedBinding(role, (f"serviceAccount:{email}",))]

            def modify(policy: JSON) -> JSON | None:
                result = merge(policy, wanted)
                return result.policy if result.changed else None

            def attempt(first: JSON | None) -> JSON:
                return read_modify_write(
                    ctx,
                    read=lambda: resource_manager.get_policy(ctx.api, project),
                    write=lambda policy: resource_manager.set_policy(ctx.api, project, policy),
                    modify=modify,
                    set_method=resource_manager.SET_POLICY,
                    first=first,
                )

            until_agents_exist(ctx, attempt, None, wanted, what=str(change.address))
            roles = [role]
        return Observed(exists=True, fields={"email": email, "roles": roles})
