"""Cloud Resource Manager v1 projects over HTTP (what gcloud and Terraform call): `get`,
`create`, `list`, `update`, `delete`, `getIamPolicy`, `setIamPolicy` and `operations.get`, on
the same projects as
v3 (a project made through either version is seen through both).

A v1 Project (cloudresourcemanager.v1.json) differs from v3's: `projectNumber` (an int64 string)
instead of `name: projects/N`, `name` is the display name, `lifecycleState` instead of `state`,
`parent` is a ResourceId `{type, id}` (`organization` / `folder`), and there is no etag or
update time. As recorded against Google (golden resourcemanager__project.http.log,
basic__resourcemanager__project__projectinorg.http.log): `create` answers only
`{"name": "operations/..."}`; the finished operation carries a
`google.cloudresourcemanager.v1.ProjectCreationStatus` and the v1 Project; a project the
caller cannot see is 403 "The caller does not have permission", without details.

Operation names are `operations/cp.N` as on Google; Service Usage serves `/v1/operations/...`
on the same host here, so Resource Manager's routes are the ones for its own name prefixes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provision.emulator.core import lro
from provision.emulator.core.errors import ApiError
from provision.emulator.core.paging import page_size, paginate
from provision.emulator.core.routing import Ctx, Route
from provision.emulator.core.world import World
from provision.emulator.resourcemanager import models
from provision.emulator.resourcemanager import routes as v3

TYPE_PREFIX = "type.googleapis.com/google.cloudresourcemanager.v1."
PARENT_TYPES = {"organization": "organizations", "folder": "folders"}
"""A v1 ResourceId `type` -> the v3 parent collection."""
OPERATIONS = "/v1/operations"


def no_permission() -> ApiError:
    """v1's 403 for a project that is missing or hidden from the caller (as recorded)."""
    return ApiError("PERMISSION_DENIED", "The caller does not have permission")


def require(world: World, ref: str) -> dict[str, Any]:
    project = models.find(world, ref)
    if project is None:
        raise no_permission()
    return project


def render(project: Mapping[str, Any]) -> dict[str, Any]:
    """The v1 Project resource of a stored project."""
    body: dict[str, Any] = {
        "projectNumber": str(project["number"]),
        "projectId": project["projectId"],
        "lifecycleState": project["state"],
    }
    if project.get("displayName"):
        body["name"] = project["displayName"]
    if project.get("labels"):
        body["labels"] = dict(project["labels"])
    body["createTime"] = project["createTime"]
    if project.get("parent"):
        collection, _, parent_id = str(project["parent"]).partition("/")
        kind = next(k for k, v in PARENT_TYPES.items() if v == collection)
        body["parent"] = {"type": kind, "id": parent_id}
    return body


def v3_parent(parent: Any) -> str | None:
    """A v1 `parent` ResourceId as v3's `organizations/N` / `folders/N` (None without one).

    Google also accepts an `id` that repeats the collection (`{"type": "organization", "id":
    "organizations/N"}`, golden iam__iampartialpolicy__resources__project); it is read as N.
    """
    if parent in (None, {}):
        return None
    if not isinstance(parent, dict) or parent.get("type") not in PARENT_TYPES:
        raise models.field_issue("parent", "parent type must be organization or folder")
    collection = PARENT_TYPES[parent["type"]]
    return f"{collection}/{str(parent.get('id', '')).removeprefix(collection + '/')}"


# ----- handlers


def get_project(ctx: Ctx) -> dict[str, Any]:
    return render(require(ctx.world, ctx.params["project"]))


def create_project(ctx: Ctx) -> dict[str, Any]:
    body = ctx.json()
    project = models.create_project(
        ctx.world,
        body.get("projectId"),  # type: ignore[arg-type]
        display_name=body.get("name"),
        parent=v3_parent(body.get("parent")),
        labels=body.get("labels"),
    )
    name = f"operations/cp.{ctx.world.ids.digits(19)}"
    metadata = {"@type": TYPE_PREFIX + "ProjectCreationStatus", "gettable": True, "ready": True}
    response = {"@type": TYPE_PREFIX + "Project", **render(project)}
    return lro.start(ctx.world, name, metadata=metadata, response=response)


def update_project(ctx: Ctx) -> dict[str, Any]:
    """`projects.update` (PUT): the display `name` and `labels` take the body's values (absent
    ones are cleared); the answer is the updated Project, at once."""
    project = require(ctx.world, ctx.params["project"])
    if project["state"] != "ACTIVE":
        raise ApiError("FAILED_PRECONDITION", "The project is not in the ACTIVE state.")
    body = ctx.json()
    models.validate_display_name(body.get("name"))
    models.validate_labels(body.get("labels"))
    for key, value in (("displayName", body.get("name")), ("labels", body.get("labels"))):
        if value:
            project[key] = dict(value) if key == "labels" else value
        else:
            project.pop(key, None)
    models.save(ctx.world, project)
    return render(project)


def delete_project(ctx: Ctx) -> dict[str, Any]:
    """`projects.delete`: marks the project DELETE_REQUESTED; answers `{}` at once (v1 has no
    operation for it, as recorded)."""
    project = require(ctx.world, ctx.params["project"])
    if project["state"] == "ACTIVE":
        project["state"] = "DELETE_REQUESTED"
        project["deleteTime"] = ctx.world.now_rfc3339()
        models.save(ctx.world, project)
    return {}


def list_projects(ctx: Ctx) -> dict[str, Any]:
    """`projects.list`: every project the caller sees (any lifecycle state) matching `filter`
    (space-separated terms that must all hold, e.g. `name:how* labels.env:dev
    lifecycleState:ACTIVE`); eventually consistent, like v3's search."""
    text = ctx.query.get("filter", "")
    projects = models.list_projects_v1(ctx.world, text)
    size = page_size(ctx.query.get("pageSize"), default=500, maximum=1000)
    chunk, token = paginate(projects, size=size, token=ctx.query.get("pageToken"), scope=text)
    body: dict[str, Any] = {}
    if chunk:
        body["projects"] = [render(project) for project in chunk]
    if token:
        body["nextPageToken"] = token
    return body


def get_iam_policy(ctx: Ctx) -> dict[str, Any]:
    require(ctx.world, ctx.params["project"])
    return v3.get_iam_policy(ctx)


def set_iam_policy(ctx: Ctx) -> dict[str, Any]:
    require(ctx.world, ctx.params["project"])
    return v3.set_iam_policy(ctx)


def get_operation(ctx: Ctx) -> dict[str, Any]:
    name = "operations/" + ctx.request.path.removeprefix(OPERATIONS + "/")
    operation = lro.poll(ctx.world, name)
    if operation is None:
        raise ApiError("NOT_FOUND", f"Operation '{name}' not found.")
    return operation


def routes() -> list[Route]:

    def route(method: str, template: str, handler: Any, method_id: str, mutating: bool) -> Route:
        return Route(method, template, handler, v3.API, method_id, mutating)

    project = "/v1/projects/{project}"
    operations = [
        route("GET", f"{OPERATIONS}/{kind}{{operation}}", get_operation, "operations.get", False)
        for kind in v3.OPERATION_KINDS
    ]
    return [
        route("GET", "/v1/projects", list_projects, "projects.list", False),
        route("POST", "/v1/projects", create_project, "projects.create", True),
        route("GET", project, get_project, "projects.get", False),
        route("PUT", project, update_project, "projects.update", True),
        route("DELETE", project, delete_project, "projects.delete", True),
        route("POST", f"{project}:getIamPolicy", get_iam_policy, "projects.getIamPolicy", False),
        route("POST", f"{project}:setIamPolicy", set_iam_policy, "projects.setIamPolicy", True),
        *operations,
    ]
