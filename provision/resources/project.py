"""Kind `project` (`projects/{id}`): the Google Cloud project itself.

spec = {"projectId", "displayName"?, "parent"?, "labels": {..}, "create": bool}

Cloud Resource Manager answers 403 both for a project that does not exist and for one the caller
cannot see. With `create: false` that is a planning error saying both possibilities; with
`create: true` the plan says "create" and, should the id be taken by a project the caller cannot
see (or one deleted in the last 30 days), apply's create answers ALREADY_EXISTS and says so.
Labels are additive: declared keys are set, other labels are left alone. Moving a project to
another parent is not done; a different parent is a planning error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from provision.errors import ApplyError, GoogleApiError, PlanError
from provision.gcp.methods import PROJECTS
from provision.model import JSON, Action, Address, Change, Observed, Resource
from provision.resources import addresses, ownership, resource_manager
from provision.resources.addresses import project_name
from provision.resources.base import (
    Context,
    Kind,
    Needs,
    Options,
    RemovalScope,
    compared,
    field_diffs,
    map_diffs,
    readable,
    removal,
)
from provision.resources.registry import register
from provision.resources.resource_manager import API, number_of
from provision.resources.symbols import fact_key

OWNED = ("projectId", "displayName", "parent", "labels")


@register
class ProjectKind(Kind):
    name = addresses.PROJECT
    api = API
    removable = True
    removal_context = True
    noun = "project"
    needs = Needs(
        "roles/resourcemanager.projectCreator (on the parent)",
        ("resourcemanager.projects.get", "resourcemanager.projects.update"),
        ("resourcemanager.projects.create",),
        creator_owns=True,
    )

    def outputs(self, ctx: Context, change: Change) -> Mapping[str, str]:
        """The project's id, number and state."""
        before = change.before or {}
        shown = {"projectId": str((change.after or {}).get("projectId", ""))}
        for key in ("number", "state"):
            if before.get(key):
                shown[key] = str(before[key])
        return shown

    def read(self, ctx: Context, resource: Resource) -> Observed:
        project_id = resource.spec["projectId"]
        try:
            project = ctx.api.call(f"{PROJECTS}.get", name=project_name(project_id))
        except GoogleApiError as error:
            if error.http_status == 403 and error.reason in (
                "",
                "IAM_PERMISSION_DENIED",
                "forbidden",
            ):
                if resource.spec.get("create", True):
                    return Observed(exists=False, fields={"visible": False})
                raise PlanError(
                    f"{resource.address}: project {project_id!r} either does not exist (and "
                    "`create: false` forbids creating it) or this identity cannot see it "
                    "(it needs resourcemanager.projects.get). Google answered: "
                    f"{error.message}"
                ) from None
            if error.http_status == 404:
                return Observed.absent()
            raise
        return observe(project)

    def diff(self, resource: Resource, observed: Observed, options: Options) -> Change:
        spec = resource.spec
        wanted = owned(spec)
        if not observed.exists:
            if not spec.get("create", True):
                raise PlanError(f"{resource.address}: project does not exist and create is false")
            reason = ""
            if observed.fields.get("visible") is False:
                reason = "does not exist or is not visible to this identity; it will be created"
            return Change(
                resource.address,
                Action.CREATE,
                before=None,
                after=wanted,
                diffs=tuple(field_diffs({}, wanted, [k for k in OWNED if wanted.get(k)])),
                reason=reason,
                depends_on=resource.depends_on,
                observed_exists=False,
            )
        fields = observed.fields
        if fields.get("state") not in (None, "ACTIVE", 1):
            raise PlanError(
                f"{resource.address}: project is {fields.get('state')} (pending deletion); "
                "undelete it or choose another project id"
            )
        if spec.get("parent") and fields.get("parent") and spec["parent"] != fields["parent"]:
            raise PlanError(
                f"{resource.address}: project is under {fields['parent']} but the blueprint "
                f"says {spec['parent']}; provision does not move projects"
            )
        diffs = []
        if "displayName" in wanted:
            diffs += field_diffs(fields, wanted, ["displayName"])
        diffs += map_diffs("labels", fields.get("labels") or {}, wanted.get("labels") or {})
        before = {k: fields[k] for k in (*OWNED, "number") if k in fields}
        return compared(resource, observed, wanted, diffs, before=before)

    def facts(self, resource: Resource, observed: Observed) -> Mapping[str, str]:
        number = observed.fields.get("number")
        if observed.exists and number:
            return {fact_key(str(observed.fields["projectId"])): str(number)}
        return {}

    def create(self, ctx: Context, change: Change) -> Observed | None:
        spec = change.after or {}
        project_id = spec["projectId"]
        body: JSON = {"projectId": project_id}
        for key in ("displayName", "parent"):
            if spec.get(key):
                body[key] = spec[key]
        if spec.get("labels"):
            body["labels"] = dict(spec["labels"])
        try:
            operation = ctx.api.call(f"{PROJECTS}.create", body=body)
            done = ctx.api.wait(
                operation,
                api=API,
                what=f"creating project {project_id}",
                progress=ctx.progress,
            )
        except GoogleApiError as error:
            if error.http_status != 409:
                raise
            return self._adopt(ctx, change, error)
        response = done.get("response")
        if isinstance(response, dict) and response.get("projectId"):
            return observe(response)
        return observe(ctx.api.call(f"{PROJECTS}.get", name=project_name(project_id)))

    def _adopt(self, ctx: Context, change: Change, conflict: GoogleApiError) -> Observed:
        """A 409 on create: adopt the project if it is visible and matches, else say why not."""
        spec = change.after or {}
        project_id = spec["projectId"]
        try:
            found = ctx.api.call(f"{PROJECTS}.get", name=project_name(project_id))
        except GoogleApiError as error:
            if error.http_status != 403:
                raise
            raise ApplyError(
                f"{change.address}: project id {project_id!r} is already taken (ALREADY_EXISTS), "
                "by a project this identity cannot see or one deleted in the last 30 days; "
                "choose another project id"
            ) from None
        observed = observe(found)
        parent = spec.get("parent")
        if parent and observed.fields.get("parent") not in (None, parent):
            raise ApplyError(
                f"{change.address}: project {project_id!r} already exists under "
                f"{observed.fields.get('parent')}, not {parent}"
            ) from None
        # Created by an earlier attempt whose answer was lost, or by someone else with the
        # same spec: adopt it, then bring display name and labels in line.
        fix = self.diff(Resource(change.address, spec), observed, ctx.options)
        if fix.action is Action.UPDATE:
            return self.update(ctx, fix) or observed
        return observed

    def update(self, ctx: Context, change: Change) -> Observed | None:
        spec = change.after or {}
        project_id = spec["projectId"]
        masks = sorted(change.fields_changed)
        body: JSON = {}
        if "displayName" in masks:
            body["displayName"] = spec.get("displayName")
        if "labels" in masks:
            fresh = ctx.api.call(f"{PROJECTS}.get", name=project_name(project_id))
            body["labels"] = ownership.labels_to_write(fresh, spec.get("labels") or {})
        if not body:
            return None
        operation = ctx.api.call(
            f"{PROJECTS}.patch",
            name=project_name(project_id),
            updateMask=",".join(masks),
            body=body,
        )
        done = ctx.api.wait(
            operation,
            api=API,
            what=f"updating project {project_id}",
            progress=ctx.progress,
        )
        response = done.get("response")
        return (
            observe(response) if isinstance(response, dict) and response.get("projectId") else None
        )

    def delete(self, ctx: Context, change: Change) -> None:
        """Delete the project (Google keeps it restorable for 30 days). Only `provision destroy`
        with --allow-delete naming the project reaches this."""
        project_id = change.address.name.removeprefix("projects/")
        try:
            operation = ctx.api.call(f"{PROJECTS}.delete", name=project_name(project_id))
        except GoogleApiError as error:
            if error.http_status == 404:
                return
            raise
        ctx.api.wait(
            operation,
            api=API,
            what=f"deleting project {project_id}",
            progress=ctx.progress,
        )

    def created_in(self, resource: Resource) -> str | None:
        """The project's organization or folder."""
        return resource.spec.get("parent") or None

    def visible(self, ctx: Context, address: Address) -> bool:
        return readable(lambda: ctx.api.call(f"{PROJECTS}.get", name=address.name))

    def test_permissions(self, ctx: Context, name: str, permissions: Sequence[str]) -> set[str]:
        return resource_manager.test_permissions(ctx.api, name, permissions)

    def plan_removal(
        self, ctx: Context, resource: Resource, state: JSON, scope: RemovalScope
    ) -> Change:
        """The project is deleted only when named with --allow-delete."""
        if scope.is_named(resource.address):
            why = (
                "named with --allow-delete: the project and everything in it are deleted "
                "(restorable for 30 days)"
            )
            return removal(resource, state, Action.DELETE, why)
        why = f"the project is kept (name it with --allow-delete {resource.address} to delete it)"
        return removal(resource, state, Action.FORGET, why)


def owned(spec: Mapping[str, Any]) -> JSON:
    """The fields of a project spec the tool manages, plus the `create` flag."""
    wanted: JSON = {"projectId": spec["projectId"]}
    for key in ("displayName", "parent"):
        if spec.get(key):
            wanted[key] = spec[key]
    wanted["labels"] = dict(spec.get("labels") or {})
    wanted["create"] = bool(spec.get("create", True))
    return wanted


def observe(project: Mapping[str, Any]) -> Observed:
    """A CRM v3 Project as Observed (fields normalised; `number` from `projects/{NUMBER}`)."""
    number = number_of(project)
    state = project.get("state")
    if state == 1:
        state = "ACTIVE"
    elif state == 2:
        state = "DELETE_REQUESTED"
    fields: JSON = {
        "projectId": project.get("projectId"),
        "labels": dict(project.get("labels") or {}),
        "state": state,
    }
    if project.get("displayName"):
        fields["displayName"] = project["displayName"]
    if project.get("parent"):
        fields["parent"] = project["parent"]
    if number:
        fields["number"] = number
    etag = project.get("etag")
    return Observed(exists=True, fields=fields, etag=str(etag) if etag else None)
