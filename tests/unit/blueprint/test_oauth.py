from __future__ import annotations

import pytest

from provision.blueprint.oauth import (
    ChecklistItem,
    check_origins,
    manual_changes,
    oauth_checklist,
    origin_problem,
    redirect_uri,
)
from provision.errors import ViewerConfigError
from provision.model import Action
from provision.outputs.plan_text import change_lines
from tests.unit.outputs.blueprints import CLIENT_ID, blueprint

HEALTHCARE = "https://www.googleapis.com/auth/cloud-healthcare"
PROJECTS = "https://www.googleapis.com/auth/cloudplatformprojects.readonly"


def titles(items: list[ChecklistItem]) -> list[str]:
    return [item.title for item in items]


def test_no_oauth_section_means_no_steps() -> None:
    assert oauth_checklist(blueprint()) == []


def test_full_checklist_with_values() -> None:
    bp = blueprint(oauth={"origins": ["http://localhost:3000", "https://viewer.example.org"]})
    items = oauth_checklist(bp)
    assert titles(items) == [
        "Enable the Cloud Resource Manager API",
        "Configure the OAuth consent screen",
        "Create the OAuth web client",
        "Record the client ID",
    ]
    resource_manager, consent, client, record = items
    assert any("cloudresourcemanager.googleapis.com" in line for line in resource_manager.lines)
    assert any("project=demo-imaging" in line for line in consent.lines)
    assert f"Data access (scopes): add {HEALTHCARE}" in consent.lines
    assert f"Data access (scopes): add {PROJECTS}" in consent.lines
    assert any("Internal" in line and "External" in line for line in consent.lines)
    assert "Application type: Web application" in client.lines
    assert [line for line in client.lines if line.startswith("Authorized")] == [
        "Authorized JavaScript origins: http://localhost:3000",
        "Authorized JavaScript origins: https://viewer.example.org",
        "Authorized redirect URIs: http://localhost:3000/callback",
        "Authorized redirect URIs: https://viewer.example.org/callback",
    ]
    assert any("`oauth.clientId`" in line for line in record.lines)
    assert any("provision config ohif" in line for line in record.lines)


def test_resource_manager_step_is_left_out_when_the_blueprint_enables_it() -> None:
    bp = blueprint(
        oauth={"origins": ["https://viewer.example.org"]},
        services=["healthcare.googleapis.com", "cloudresourcemanager.googleapis.com"],
    )
    assert "Enable the Cloud Resource Manager API" not in titles(oauth_checklist(bp))


def test_recorded_client_id_is_shown_for_checking() -> None:
    items = oauth_checklist(blueprint(oauth={"clientId": CLIENT_ID, "origins": []}))
    record = items[-1]
    assert CLIENT_ID in record.lines[0]


def test_no_origins_says_what_to_add() -> None:
    client = next(i for i in oauth_checklist(blueprint(oauth={})) if "web client" in i.title)
    assert not any(line.startswith("Authorized") for line in client.lines)
    assert any("`oauth.origins`" in line for line in client.lines)


def client_lines(origins: list[str]) -> tuple[str, ...]:
    items = oauth_checklist(blueprint(oauth={"origins": origins}))
    return next(i for i in items if i.key == "web-client").lines


def test_the_local_viewer_origin_is_named_as_the_one_provision_viewer_serves() -> None:
    lines = client_lines(["https://viewer.example.org", "http://localhost:3000"])
    assert (
        "http://localhost:3000 is where `provision viewer BLUEPRINT` serves OHIF on this machine."
    ) in lines
    other_port = client_lines(["http://localhost:8080"])
    assert any("`provision viewer BLUEPRINT --port 8080`" in line for line in other_port)


def test_without_a_local_origin_the_checklist_says_which_one_to_add() -> None:
    lines = client_lines(["https://viewer.example.org"])
    assert any("also add http://localhost:3000 to `oauth.origins`" in line for line in lines)
    changes = manual_changes(blueprint(oauth={"origins": ["https://viewer.example.org"]}))
    web_client = next(c for c in changes if c.address.name.endswith("/web-client"))
    assert any("http://localhost:3000" in line for line in (web_client.after or {})["checklist"])
    assert any("provision viewer" in line for line in client_lines([]))


def test_checklist_never_mentions_a_secret_value() -> None:
    items = oauth_checklist(blueprint(oauth={"clientId": CLIENT_ID}))
    text = " ".join(line for item in items for line in item.lines)
    assert "no client secret" in text


def test_redirect_uri() -> None:
    assert (
        redirect_uri("https://viewer.example.org:8443")
        == "https://viewer.example.org:8443/callback"
    )


@pytest.mark.parametrize(
    "origin",
    [
        "https://viewer.example.org",
        "https://viewer.example.org:8443",
        "http://localhost:3000",
        "http://localhost",
        "http://127.0.0.1:3000",
        "http://[::1]:3000",
        "https://localhost",
    ],
)
def test_valid_origins(origin: str) -> None:
    assert origin_problem(origin) is None


@pytest.mark.parametrize(
    ("origin", "problem"),
    [
        ("http://viewer.example.org", "only for localhost"),
        ("https://viewer.example.org/", "no path"),
        ("https://viewer.example.org/ohif", "no path"),
        ("https://viewer.example.org?x=1", "no path"),
        ("https://viewer.example.org#top", "no path"),
        ("https://*.example.org", "wildcards"),
        ("viewer.example.org", "https://"),
        ("ftp://viewer.example.org", "https://"),
        ("https://", "no host"),
        ("https://user:pw@viewer.example.org", "user name"),
        ("https://viewer.example.org:0", "port 0"),
        ("https://viewer.example.org:99999", "not a valid URL"),
        ("https://10.1.2.3", "raw IP"),
        ("http://10.1.2.3:3000", "only for localhost"),
    ],
)
def test_invalid_origins(origin: str, problem: str) -> None:
    found = origin_problem(origin)
    assert found is not None
    assert problem in found


def test_check_origins_names_every_bad_field() -> None:
    with pytest.raises(ViewerConfigError) as caught:
        check_origins(
            ["https://ok.example.org", "http://bad.example.org", "https://ok.example.org"]
        )
    message = str(caught.value)
    assert "oauth.origins[1] 'http://bad.example.org'" in message
    assert "oauth.origins[2] 'https://ok.example.org': it is listed twice" in message
    assert "oauth.origins[0]" not in message


def test_items_have_stable_keys() -> None:
    items = oauth_checklist(blueprint(oauth={"origins": ["https://viewer.example.org"]}))
    assert [item.key for item in items] == [
        "enable-cloudresourcemanager",
        "consent-screen",
        "web-client",
        "client-id",
    ]


def test_manual_changes_render_as_plan_checklists() -> None:
    bp = blueprint(oauth={"origins": ["https://viewer.example.org"]})
    changes = manual_changes(bp)
    assert [str(c.address) for c in changes] == [
        "oauth.checklist:projects/demo-imaging/oauth/enable-cloudresourcemanager",
        "oauth.checklist:projects/demo-imaging/oauth/consent-screen",
        "oauth.checklist:projects/demo-imaging/oauth/web-client",
        "oauth.checklist:projects/demo-imaging/oauth/client-id",
    ]
    assert all(c.action is Action.MANUAL and not c.is_mutation for c in changes)
    client = changes[2]
    assert client.reason == "Create the OAuth web client"
    rendered = "\n".join(change_lines(client))
    assert "[ ] Authorized redirect URIs: https://viewer.example.org/callback" in rendered
    assert manual_changes(blueprint()) == []
