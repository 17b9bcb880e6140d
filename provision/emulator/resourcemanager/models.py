"""Cloud Resource Manager v3 projects: validation, lifecycle, search, and the project IAM policy.

A new project is owned by the `caller` setting and has the `new_project_services` enabled.

A project is stored in `PROJECTS` under its id as
`{projectId, number, displayName?, parent?, labels?, state, createTime, updateTime, deleteTime?,
etag, created}`; `created` is the creation instant in seconds (for the search lag). Names on the
wire always use the project number: `projects/{number}`.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Any

from provision.emulator.core import iam, lro
from provision.emulator.core.errors import (
    ApiError,
    already_exists,
    invalid_argument,
    permission_denied,
)
from provision.emulator.core.world import PROJECTS, SERVICES, World, project_policy_name

DOMAIN = "cloudresourcemanager.googleapis.com"
TYPE_PREFIX = "type.googleapis.com/google.cloud.resourcemanager.v3."
STATE_NUMBERS = {"STATE_UNSPECIFIED": 0, "ACTIVE": 1, "DELETE_REQUESTED": 2}

PROJECT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
DISPLAY_NAME = re.compile(r"^[A-Za-z0-9\-'\" !]{4,30}$")
LABEL_KEY = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^([a-z]([-a-z0-9]*[a-z0-9])?)?$")
PARENT = re.compile(r"^(organizations|folders)/[0-9]+$")
MAX_LABELS = 64


# ----- validation


def field_issue(field: str, issue: str) -> ApiError:
    """400 in the form Resource Manager uses for a bad field: `field [x] has issue [...]`."""
    return invalid_argument(f"field [{field}] has issue [{issue}]")


def validate_project_id(project_id: Any) -> str:
    if not isinstance(project_id, str) or not project_id:
        raise field_issue("project_id", "project_id must be set")
    if not PROJECT_ID.match(project_id):
        raise field_issue(
            "project_id",
            "project_id must be 6 to 30 lowercase letters, digits, or hyphens; it must start "
            "with a letter and must not end with a hyphen",
        )
    return project_id


def validate_display_name(display_name: Any) -> None:
    if display_name in (None, ""):
        return
    if not isinstance(display_name, str) or not DISPLAY_NAME.match(display_name):
        raise field_issue(
            "display_name",
            "display_name must be 4 to 30 letters, digits, hyphens, single quotes, double "
            "quotes, spaces or exclamation points",
        )


def validate_labels(labels: Any) -> None:
    if labels is None:
        return
    if not isinstance(labels, dict):
        raise field_issue("labels", "labels must be a map of strings")
    if len(labels) > MAX_LABELS:
        raise field_issue("labels", f"a project can have at most {MAX_LABELS} labels")
    for key, value in labels.items():
        if not isinstance(key, str) or len(key) > 63 or not LABEL_KEY.match(key):
            raise field_issue(
                "labels",
                f"label key '{key}' must be 1 to 63 lowercase letters, digits or hyphens, "
                "start with a letter and end with a letter or digit",
            )
        if not isinstance(value, str) or len(value) > 63 or not LABEL_VALUE.match(value):
            raise field_issue(
                "labels",
                f"label value '{value}' must be at most 63 lowercase letters, digits or "
                "hyphens, start with a letter and end with a letter or digit",
            )


def validate_parent(parent: Any) -> None:
    if parent in (None, ""):
        return
    if not isinstance(parent, str) or not PARENT.match(parent):
        raise field_issue("parent", "parent must be organizations/{id} or folders/{id}")


# ----- lookups and rendering


def find(world: World, ref: str) -> dict[str, Any] | None:
    """A project in any state, by id or number."""
    return world.find_project(ref)


def require(world: World, ref: str, permission: str) -> dict[str, Any]:
    """A project in any state, or the 403 Resource Manager answers for a missing one."""
    project = find(world, ref)
    if project is None:
        raise permission_denied(permission, f"projects/{ref}", DOMAIN)
    return project


def render(project: Mapping[str, Any], *, numeric_enums: bool = False) -> dict[str, Any]:
    """The Project resource as Google sends it (field order as in captured responses)."""
    body: dict[str, Any] = {"name": f"projects/{project['number']}"}
    if project.get("parent"):
        body["parent"] = project["parent"]
    body["projectId"] = project["projectId"]
    state = project["state"]
    body["state"] = STATE_NUMBERS[state] if numeric_enums else state
    if project.get("displayName"):
        body["displayName"] = project["displayName"]
    body["createTime"] = project["createTime"]
    body["updateTime"] = project["updateTime"]
    if project.get("deleteTime"):
        body["deleteTime"] = project["deleteTime"]
    body["etag"] = project["etag"]
    if project.get("labels"):
        body["labels"] = dict(project["labels"])
    return body


def _etag(world: World) -> str:
    return f'W/"{world.ids.hex(16)}"'


def _new_number(world: World) -> str:
    while True:
        number = world.ids.digits(12)
        if world.find_project(number) is None:
            return number


# ----- lifecycle


def create_project(
    world: World,
    project_id: str,
    *,
    display_name: str | None = None,
    parent: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Validate and store a new ACTIVE project owned by the configured caller; returns it.

    Project ids stay reserved after deletion, so any existing id is 409 ALREADY_EXISTS.
    """
    validate_project_id(project_id)
    validate_display_name(display_name)
    validate_labels(labels)
    validate_parent(parent)
    if world.store.get(PROJECTS, project_id) is not None:
        raise already_exists(legacy_reason="alreadyExists")
    now = world.now_rfc3339()
    project: dict[str, Any] = {
        "projectId": project_id,
        "number": _new_number(world),
        "state": "ACTIVE",
        "createTime": now,
        "updateTime": now,
        "etag": _etag(world),
        "created": world.now(),
    }
    if display_name:
        project["displayName"] = display_name
    if parent:
        project["parent"] = parent
    if labels:
        project["labels"] = dict(labels)
    world.store.put(PROJECTS, project_id, project)
    for service in world.settings.new_project_services:
        world.store.put(
            SERVICES,
            f"{project['number']}/{service}",
            {"state": "ENABLED", "enabledAt": 0.0, "changedAt": 0.0},
        )
    caller = world.settings.caller
    if caller:
        iam.set_bindings_directly(
            world,
            project_policy_name(project["number"]),
            [{"role": "roles/owner", "members": [caller]}],
        )
    return project


def start_create(world: World, body: Mapping[str, Any]) -> dict[str, Any]:
    """`projects.create`: the project exists at once; the operation reports it when done."""
    project = create_project(
        world,
        body.get("projectId"),  # type: ignore[arg-type]
        display_name=body.get("displayName"),
        parent=body.get("parent"),
        labels=body.get("labels"),
    )
    metadata = {
        "@type": TYPE_PREFIX + "CreateProjectMetadata",
        "createTime": project["createTime"],
        "gettable": True,
        "ready": True,
    }
    return _operation(world, "cp", metadata, project)


def _operation(
    world: World, kind: str, metadata: dict[str, Any], project: Mapping[str, Any]
) -> dict[str, Any]:
    name = f"operations/{kind}.{world.ids.digits(19)}"
    response = {"@type": TYPE_PREFIX + "Project", **render(project)}
    return lro.start(world, name, metadata=metadata, response=response)


def save(world: World, project: dict[str, Any]) -> None:
    """Store a changed project (new update time and etag)."""
    project["updateTime"] = world.now_rfc3339()
    project["etag"] = _etag(world)
    world.store.put(PROJECTS, project["projectId"], project)


def start_delete(world: World, ref: str) -> dict[str, Any]:
    project = require(world, ref, "resourcemanager.projects.delete")
    if project["state"] != "ACTIVE":
        raise ApiError(
            "FAILED_PRECONDITION",
            f"Project projects/{project['number']} is not in the ACTIVE state.",
        )
    project["state"] = "DELETE_REQUESTED"
    project["deleteTime"] = world.now_rfc3339()
    save(world, project)
    return _operation(world, "dp", {"@type": TYPE_PREFIX + "DeleteProjectMetadata"}, project)


def start_undelete(world: World, ref: str) -> dict[str, Any]:
    project = require(world, ref, "resourcemanager.projects.undelete")
    if project["state"] != "DELETE_REQUESTED":
        raise ApiError(
            "FAILED_PRECONDITION",
            f"Project projects/{project['number']} is not in the DELETE_REQUESTED state.",
        )
    project["state"] = "ACTIVE"
    project.pop("deleteTime", None)
    save(world, project)
    return _operation(world, "up", {"@type": TYPE_PREFIX + "UndeleteProjectMetadata"}, project)


def start_update(
    world: World, ref: str, body: Mapping[str, Any], update_mask: str | None
) -> dict[str, Any]:
    """`projects.patch`: only `display_name` and `labels` may change (default: both)."""
    project = require(world, ref, "resourcemanager.projects.update")
    if project["state"] != "ACTIVE":
        raise ApiError(
            "FAILED_PRECONDITION",
            f"Project projects/{project['number']} is not in the ACTIVE state.",
        )
    paths = [part.strip() for part in (update_mask or "display_name,labels").split(",")]
    for path in paths:
        if path in ("display_name", "displayName"):
            validate_display_name(body.get("displayName"))
            if body.get("displayName"):
                project["displayName"] = body["displayName"]
            else:
                project.pop("displayName", None)
        elif path == "labels":
            validate_labels(body.get("labels"))
            if body.get("labels"):
                project["labels"] = dict(body["labels"])
            else:
                project.pop("labels", None)
        elif path:
            raise invalid_argument(f"Invalid update mask path: {path}.")
    save(world, project)
    return _operation(world, "up", {"@type": TYPE_PREFIX + "UpdateProjectMetadata"}, project)


# ----- search and list


def list_projects(world: World, parent: str, *, show_deleted: bool) -> list[dict[str, Any]]:
    """Projects directly under `parent`, ordered by id."""
    if not parent:
        raise invalid_argument("parent must be set")
    validate_parent(parent)
    return [
        project
        for project in world.store.values(PROJECTS)
        if project.get("parent") == parent and (show_deleted or project["state"] == "ACTIVE")
    ]


def search_projects(world: World, query: str) -> list[dict[str, Any]]:
    """Projects matching `query` (terms are OR'ed; case-insensitive; trailing `*` = prefix).

    Search is eventually consistent: projects younger than `project_search_lag_s` are left out.
    """
    terms = _parse_query(query)
    lag = world.settings.project_search_lag_s
    now = world.now()
    found = []
    for project in world.store.values(PROJECTS):
        if lag > 0 and now - float(project.get("created", 0.0)) < lag:
            continue
        if not terms or any(_term_matches(project, field, value) for field, value in terms):
            found.append(project)
    return found


V1_FILTER_FIELDS = {"name": "name", "id": "id", "lifecyclestate": "lifecycleState"}
"""v1 `projects.list` filter fields (case-insensitive) -> the search field they match;
`labels.KEY`, `parent.type` and `parent.id` are taken as they are."""


def list_projects_v1(world: World, text: str) -> list[dict[str, Any]]:
    """v1 `projects.list`: projects (any state) matching every term of `text`, e.g.
    `name:how* labels.color:red parent.type:organization parent.id:123`. Eventually
    consistent like `search_projects` (projects younger than `project_search_lag_s` are left
    out)."""
    terms = [
        (V1_FILTER_FIELDS.get(field.lower(), field), value) for field, value in _parse_query(text)
    ]
    lag = world.settings.project_search_lag_s
    now = world.now()
    return [
        project
        for project in world.store.values(PROJECTS)
        if not (lag > 0 and now - float(project.get("created", 0.0)) < lag)
        and all(_term_matches(project, field, value) for field, value in terms)
    ]


def _parse_query(query: str) -> list[tuple[str, str]]:
    try:
        words = shlex.split(query or "")
    except ValueError:
        raise invalid_argument(f"Invalid query: {query}") from None
    terms: list[tuple[str, str]] = []
    for word in words:
        if word.upper() in ("OR", "AND"):
            continue
        field, sep, value = word.partition(":")
        if not sep:
            field, sep, value = word.partition("=")
        if not sep or not field:
            raise invalid_argument(f"Invalid query: {query}")
        terms.append((field, value.strip('"')))
    return terms


def _like(actual: str | None, pattern: str) -> bool:
    if actual is None:
        return False
    actual, pattern = actual.lower(), pattern.lower()
    if pattern == "*":
        return True
    if pattern.endswith("*"):
        return actual.startswith(pattern[:-1])
    return actual == pattern


def _term_matches(project: Mapping[str, Any], field: str, value: str) -> bool:
    parent = project.get("parent") or ""
    parent_type, _, parent_id = parent.partition("/")
    labels: Mapping[str, str] = project.get("labels") or {}
    if field in ("displayName", "name"):
        return _like(project.get("displayName"), value)
    if field == "parent":
        return _like(parent, value)
    if field == "parent.type":
        return _like(parent_type.removesuffix("s"), value.removesuffix("s"))
    if field == "parent.id":
        return _like(parent_id, value)
    if field in ("id", "projectId"):
        return _like(project.get("projectId"), value)
    if field in ("state", "lifecycleState"):
        return _like(project.get("state"), value)
    if field == "labels":
        return any(_like(key, value) for key in labels)
    if field.startswith("labels."):
        key = field.removeprefix("labels.")
        return key in labels and _like(labels[key], value)
    if field in ("number", "projectNumber"):
        return _like(project.get("number"), value)
    raise invalid_argument(f"Invalid query field: {field}")


# ----- IAM


def get_policy(world: World, ref: str, requested_version: int) -> dict[str, Any]:
    project = require(world, ref, "resourcemanager.projects.getIamPolicy")
    return iam.get_policy(world, project_policy_name(project["number"]), requested_version)


def set_policy(
    world: World, ref: str, policy: Mapping[str, Any], update_mask: str | None
) -> dict[str, Any]:
    """setIamPolicy with the project rules on top of the shared ones: an org-less project
    cannot gain `user:` owners this way (they must be invited) nor lose its last owner."""
    project = require(world, ref, "resourcemanager.projects.setIamPolicy")
    resource = project_policy_name(project["number"])
    if not project.get("parent"):
        mask = {part.strip() for part in (update_mask or "bindings,etag").split(",")}
        if "bindings" in mask:
            before = _owners(iam.get_policy(world, resource).get("bindings") or [])
            after = _owners(policy.get("bindings") or [])
            _check_owner_rules(before, after)
    return iam.set_policy(
        world, resource, dict(policy), iam.RESOURCE_MANAGER, update_mask=update_mask
    )


def _owners(bindings: list[dict[str, Any]]) -> set[str]:
    return {
        member
        for binding in bindings
        if binding.get("role") == "roles/owner" and "condition" not in binding
        for member in binding.get("members") or []
    }


def _policy_error(kind: str, member: str) -> ApiError:
    return ApiError(
        "INVALID_ARGUMENT",
        "Request contains an invalid argument.",
        legacy_reason="badRequest",
        details=[
            {
                "@type": "type.googleapis.com/google.cloudresourcemanager.v1.ProjectIamPolicyError",
                "type": kind,
                "member": member,
                "role": "roles/owner",
            }
        ],
    )


def _check_owner_rules(before: set[str], after: set[str]) -> None:
    for member in sorted(after - before):
        if member.startswith("user:"):
            raise _policy_error("SOLO_MUST_INVITE_OWNERS", member)
    had_user_owner = any(member.startswith("user:") for member in before)
    if had_user_owner and not any(member.startswith("user:") for member in after):
        removed = sorted(before - after)
        raise _policy_error("SOLO_REQUIRE_TOS_ACCEPTOR", removed[0] if removed else "")


def test_permissions(world: World, ref: str, permissions: list[str]) -> list[str]:
    """The subset of `permissions` the caller holds: all but `denied_permissions`."""
    require(world, ref, "resourcemanager.projects.get")
    denied = set(world.settings.denied_permissions)
    return [permission for permission in permissions if permission not in denied]
