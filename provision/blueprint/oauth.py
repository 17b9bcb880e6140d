"""The manual OAuth steps a browser viewer (OHIF) needs, with the exact values to enter.

Google offers no API for the OAuth consent screen or for "Web application" OAuth clients, so
these stay manual. `manual_changes` turns the items into `manual` plan changes (shown as `!`
steps with their checklist); `provision config oauth` prints them. Pure: reads the blueprint,
validates `oauth.origins`, calls nothing.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from provision.blueprint.schema import Blueprint
from provision.errors import ViewerConfigError
from provision.model import MANUAL_CHECKLIST_KEY, Action, Address, Change
from provision.resources import addresses

HEALTHCARE_SCOPE = "https://www.googleapis.com/auth/cloud-healthcare"
PROJECTS_READONLY_SCOPE = "https://www.googleapis.com/auth/cloudplatformprojects.readonly"
"""The scopes OHIF's Google sign-in asks for (the consent screen must list them)."""
REDIRECT_PATH = "/callback"
"""OHIF's sign-in redirect route; the OAuth client must allow `{origin}/callback`."""
CHECKLIST_KIND = "oauth.checklist"
"""Address kind of the manual OAuth steps in a plan."""
CLOUD_RESOURCE_MANAGER_API = "cloudresourcemanager.googleapis.com"
LOCAL_VIEWER_PORT = 3000
"""The port `provision viewer` serves on unless `--port` says otherwise."""
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
"""Hosts for which Google accepts plain `http://` origins."""


@dataclass(frozen=True)
class ChecklistItem:
    """One manual step: a stable key, a short imperative title and the lines that say exactly
    what to do."""

    key: str
    """Stable identifier, e.g. `consent-screen`; part of the step's plan address."""
    title: str
    lines: tuple[str, ...]


def oauth_checklist(blueprint: Blueprint) -> list[ChecklistItem]:
    """The manual steps for the blueprint's `oauth` section; empty when it has none.

    Raises `ViewerConfigError` naming `oauth.origins[i]` for every invalid or repeated origin.
    """
    oauth = blueprint.oauth
    if oauth is None:
        return []
    origins = list(oauth.origins)
    check_origins(origins)
    project = blueprint.project.id
    items: list[ChecklistItem] = []
    if CLOUD_RESOURCE_MANAGER_API not in blueprint.services:
        items.append(_resource_manager_item(project))
    items.append(_consent_screen_item(project))
    items.append(_client_item(project, origins))
    items.append(_client_id_item(oauth.client_id))
    return items


def manual_changes(blueprint: Blueprint) -> list[Change]:
    """The checklist as `manual` plan changes: one per item, at address
    `oauth.checklist:projects/{project}/oauth/{key}`, with `after = {"checklist": [lines]}` and the
    title as reason. Raises like `oauth_checklist`."""
    project = blueprint.project.id
    return [
        Change(
            address=Address(CHECKLIST_KIND, f"{addresses.project_name(project)}/oauth/{item.key}"),
            action=Action.MANUAL,
            after={MANUAL_CHECKLIST_KEY: list(item.lines)},
            reason=item.title,
        )
        for item in oauth_checklist(blueprint)
    ]


def redirect_uri(origin: str) -> str:
    """The Authorized redirect URI OHIF needs for `origin`: `{origin}/callback`."""
    return f"{origin}{REDIRECT_PATH}"


def origin_problem(origin: str) -> str | None:
    """Why `origin` is not a valid Authorized JavaScript origin, or None when it is.

    Valid: `https://host[:port]`, or `http://` for localhost / 127.0.0.1 / [::1]; no path (not
    even `/`), query, fragment, user info or wildcard; no raw IP address except loopback.
    """
    if "*" in origin:
        return "wildcards are not allowed"
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError as error:
        return f"it is not a valid URL ({error})"
    if parts.scheme not in ("http", "https") or not origin.startswith(f"{parts.scheme}://"):
        return "it must start with https:// (or http:// for localhost)"
    host = parts.hostname or ""
    if not host:
        return "it has no host"
    if parts.username is not None or parts.password is not None:
        return "it must not contain a user name or password"
    if parts.path or parts.query or parts.fragment or origin.endswith(("?", "#")):
        return "it must be scheme://host[:port] only, with no path (not even a trailing /)"
    if port == 0:
        return "port 0 is not a valid port"
    local = host in LOCAL_HOSTS
    if parts.scheme == "http" and not local:
        return "plain http:// is accepted only for localhost; use https://"
    if not local and _is_ip_address(host):
        return "Google accepts no raw IP address except loopback; use a host name"
    return None


def check_origins(origins: list[str]) -> None:
    """Raise `ViewerConfigError` listing every invalid or repeated origin by its blueprint field."""
    problems: list[str] = []
    seen: set[str] = set()
    for index, origin in enumerate(origins):
        problem = origin_problem(origin)
        if problem is None and origin in seen:
            problem = "it is listed twice"
        if problem is not None:
            problems.append(f"oauth.origins[{index}] {origin!r}: {problem}")
        seen.add(origin)
    if problems:
        raise ViewerConfigError(
            "invalid OAuth origins in the blueprint:\n" + "\n".join(f"  {p}" for p in problems)
        )


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _console(page: str, project: str) -> str:
    return f"https://console.cloud.google.com/{page}?project={project}"


def _resource_manager_item(project: str) -> ChecklistItem:
    return ChecklistItem(
        "enable-cloudresourcemanager",
        "Enable the Cloud Resource Manager API",
        (
            "OHIF's data source configuration UI lists projects through "
            f"{CLOUD_RESOURCE_MANAGER_API} with the signed-in user's token.",
            f"Add `{CLOUD_RESOURCE_MANAGER_API}` to `services:` in the blueprint (provision then "
            "enables it), or enable it at "
            f"{_console(f'apis/library/{CLOUD_RESOURCE_MANAGER_API}', project)}",
        ),
    )


def _consent_screen_item(project: str) -> ChecklistItem:
    return ChecklistItem(
        "consent-screen",
        "Configure the OAuth consent screen",
        (
            f"Open {_console('auth/overview', project)} (Google Auth Platform; older consoles: "
            "APIs & Services > OAuth consent screen).",
            "Audience (user type): Internal when every user belongs to your Google Workspace "
            "organization; otherwise External, and add the users as test users while the app "
            "is in Testing.",
            f"Data access (scopes): add {HEALTHCARE_SCOPE}",
            f"Data access (scopes): add {PROJECTS_READONLY_SCOPE}",
            "openid, email and profile are granted without being listed.",
        ),
    )


def _client_item(project: str, origins: list[str]) -> ChecklistItem:
    lines = [
        f"Open {_console('auth/clients', project)} and create a client "
        "(APIs & Services > Credentials > Create credentials > OAuth client ID).",
        "Application type: Web application",
    ]
    if origins:
        lines += [f"Authorized JavaScript origins: {origin}" for origin in origins]
        lines += [f"Authorized redirect URIs: {redirect_uri(origin)}" for origin in origins]
        lines += _local_viewer_lines(origins)
    else:
        lines.append(
            "The blueprint lists no origins: add the viewer's address to `oauth.origins` "
            f"({local_viewer_origin()} for `provision viewer BLUEPRINT` on this machine) and "
            "run this again to get the values to enter."
        )
    lines.append("OHIF uses no client secret: keep it out of the blueprint and the viewer config.")
    return ChecklistItem("web-client", "Create the OAuth web client", tuple(lines))


def local_viewer_origin(port: int = LOCAL_VIEWER_PORT) -> str:
    """The origin `provision viewer --port PORT` serves OHIF on."""
    return f"http://localhost:{port}"


def local_viewer_ports(origins: list[str]) -> list[int]:
    """The ports of the `http://localhost:PORT` origins, in order: where `provision viewer` can
    sign in to Google from (`--port PORT`)."""
    ports = []
    for origin in origins:
        parts = urlsplit(origin)
        try:
            port = parts.port
        except ValueError:
            continue
        if parts.scheme == "http" and parts.hostname == "localhost" and port is not None:
            ports.append(port)
    return ports


def _local_viewer_lines(origins: list[str]) -> list[str]:
    """Which origins `provision viewer` signs in from, or which one to add for it."""
    ports = local_viewer_ports(origins)
    if not ports:
        return [
            "To open the viewer on this machine (`provision viewer BLUEPRINT`), also add "
            f"{local_viewer_origin()} to `oauth.origins` and to the client's origins."
        ]
    lines = []
    for port in ports:
        flag = "" if port == LOCAL_VIEWER_PORT else f" --port {port}"
        lines.append(
            f"{local_viewer_origin(port)} is where `provision viewer BLUEPRINT{flag}` serves "
            "OHIF on this machine."
        )
    return lines


def _client_id_item(client_id: str | None) -> ChecklistItem:
    if client_id:
        first = (
            f"The blueprint's `oauth.clientId` is {client_id}: check it is the ID of the client "
            "created above."
        )
    else:
        first = (
            "Copy the new client's ID (ending in .apps.googleusercontent.com) into the blueprint "
            "as `oauth.clientId`."
        )
    return ChecklistItem(
        "client-id",
        "Record the client ID",
        (
            first,
            "Then generate the viewer config: provision config ohif BLUEPRINT --out app-config.js",
        ),
    )
