"""`make live`: the README demo against real Google, in a throwaway project.

Opt-in and never in CI (marker `live`). Needs Application Default Credentials allowed to create
projects under `PROVISION_LIVE_PARENT` (`organizations/N` or `folders/N`) and to link
`PROVISION_LIVE_BILLING` (`billingAccounts/...`); `PROVISION_LIVE_MEMBER` (e.g. `user:you@corp`)
stands in for the example groups of the blueprint. Every exchange is recorded, normalised into a
replay case (tokens, keys and refresh tokens never reach it; ids become placeholders), and written
to `.provision/live/`; the project is deleted at the end, whatever happened. Drop the case under
`tests/golden/recorded/` (named `live__*.http.log`) and `make test` replays it.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from provision.gcp.api import GoogleApi
from provision.gcp.credentials import Target
from tests.golden import normalise
from tests.live import flow

pytestmark = pytest.mark.live
OUT = flow.REPO / ".provision" / "live"


def _required(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        pytest.skip(f"{name} is not set (see tests/live/test_live.py)")
    return value


@pytest.fixture
def live_project() -> Iterator[str]:
    """A fresh project id; the project (if it was created) is deleted afterwards."""
    project_id = f"prov-live-{secrets.token_hex(4)}"
    yield project_id
    api = GoogleApi(Target())
    try:
        api.call("cloudresourcemanager.projects.delete", name=f"projects/{project_id}")
        print(f"live: deleted project {project_id}")
    except Exception as error:  # the run may have failed before creating it
        print(f"live: project {project_id} not deleted: {error}")


def test_the_readme_demo_on_google(live_project: str, tmp_path: Path) -> None:
    parent = _required("PROVISION_LIVE_PARENT")
    billing = _required("PROVISION_LIVE_BILLING")
    member = _required("PROVISION_LIVE_MEMBER")
    blueprint = flow.write_blueprints(
        tmp_path / "blueprints",
        live_project,
        parent=parent,
        billing_account=billing,
        member=member,
    )
    raw = tmp_path / "raw.http.log"
    env = {"PROVISION_RECORD": str(raw), "PROVISION_YES": "1", "PROVISION_ENDPOINT": ""}
    try:
        flow.demo(blueprint, live_project, Target(), env)
    finally:
        if raw.exists():
            OUT.mkdir(parents=True, exist_ok=True)
            case = OUT / f"live__demo-{time.strftime('%Y%m%d-%H%M%S')}.http.log"
            literals = {
                live_project: "projectId",
                billing.removeprefix("billingAccounts/"): "billingAccountID",
                parent.split("/", 1)[1]: "organizationID"
                if parent.startswith("organizations/")
                else "folderID",
            }
            text = raw.read_text(encoding="utf-8")
            text = text.replace(member.split(":", 1)[1], "live-member@example.com")
            case.write_text(normalise.normalise(text, literals), encoding="utf-8")
            print(f"live: the recorded exchanges are in {case}")
