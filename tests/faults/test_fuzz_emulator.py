"""Random requests against the emulator's WSGI application (in-process, werkzeug's test client)
never crash a handler: every answer is a success or an error in Google's envelope, never an
unhandled exception (which a server turns into a bare 500 with a traceback in its log).

Paths are the emulator's own route templates with their parameters filled from names that
exist (so handlers run deep) or random text; bodies are empty, random bytes, random JSON or
plausible JSON; content types and query strings are random too.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

from provision.emulator import seeding
from provision.emulator.app import EmulatorApp
from provision.emulator.core.store import Store
from provision.emulator.core.world import World

PROJECT = "fuzz-project"
KNOWN = ["fuzz-project", "us-central1", "ds", "store", "fuzz-bucket", "-", "_", "0", "123"]
_PARAMETER = re.compile(r"\{(\w+)(=\*\*)?\}")


@cache
def emulator() -> tuple[EmulatorApp, tuple[str, ...]]:
    """One app with a project (Healthcare and Storage on), a dataset, a store and a bucket."""
    world = World(store=Store(None))
    app = EmulatorApp(world)
    with world.store.transaction():
        seeding.seed_project(
            world,
            {
                "projectId": PROJECT,
                "billingAccountName": "billingAccounts/012345-6789AB-CDEF01",
                "services": ["healthcare.googleapis.com", "storage.googleapis.com"],
            },
        )
    client = Client(app)
    base = f"/v1/projects/{PROJECT}/locations/us-central1/datasets"
    client.post(f"{base}?datasetId=ds", json={})
    client.post(f"{base}/ds/dicomStores?dicomStoreId=store", json={})
    client.post(f"/storage/v1/b?project={PROJECT}", json={"name": "fuzz-bucket"})
    templates = tuple(sorted({f"{r.method} {r.template}" for r in app.router.routes}))
    return app, templates


def characters_except(excluded: str) -> st.SearchStrategy[str]:
    """Any character but `excluded` and lone surrogates (which no URL can carry)."""
    return st.characters(exclude_categories=["Cs"], exclude_characters=excluded)


# (`?` and `#` would start the query string or fragment; the query is drawn separately)
segment = st.one_of(
    st.sampled_from(KNOWN),
    st.text(st.characters(codec="ascii", exclude_characters="/?#"), max_size=12),
    st.text(characters_except("/?#"), max_size=6),
)


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    _, templates = emulator()
    verb, template = draw(st.sampled_from(templates)).split(" ", 1)
    path = _PARAMETER.sub(lambda _: draw(segment).replace("/", "") or "x", template)
    if draw(st.booleans()):
        prefix = draw(st.sampled_from(["/", "/v1/", "/storage/v1/b/", "/v3/projects/", ""]))
        path = prefix + draw(st.text(characters_except("?#"), max_size=30))
    method = draw(st.sampled_from([verb, verb, "GET", "POST", "PUT", "PATCH", "DELETE"]))
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=12), children, max_size=4)
        ),
        max_leaves=12,
    )
    plausible = st.fixed_dictionaries(
        {},
        optional={
            key: json_values
            for key in (
                "policy",
                "bindings",
                "etag",
                "labels",
                "name",
                "timeZone",
                "serviceIds",
                "billingAccountName",
                "projectId",
                "parent",
                "gcsSource",
                "iamConfiguration",
                "location",
                "updateMask",
            )
        },
    )
    body = draw(
        st.one_of(
            st.just(b""),
            st.binary(max_size=64),
            json_values.map(lambda v: json.dumps(v).encode()),
            plausible.map(lambda v: json.dumps(v).encode()),
        )
    )
    content_type = draw(
        st.sampled_from(
            [
                "application/json",
                "application/dicom",
                'multipart/related; type="application/dicom"; boundary=xyz',
                "multipart/related",
                "application/x-www-form-urlencoded",
                "text/plain",
                "",
            ]
        )
    )
    query = draw(
        st.one_of(
            st.just(""),
            st.sampled_from(
                [
                    "updateMask=labels",
                    "filter=state:ENABLED",
                    "pageToken=zzz",
                    "pageSize=-1",
                    "pageSize=abc",
                    "datasetId=x",
                    "dicomStoreId=y",
                    f"project={PROJECT}",
                    "ifMetagenerationMatch=x",
                    "options.requestedPolicyVersion=9",
                    "alt=media",
                    "uploadType=multipart",
                ]
            ),
            st.text(max_size=20),
        )
    )
    headers = {"Content-Type": content_type} if content_type else {}
    return {
        "method": method,
        "path": path,
        "query": query,
        "body": body,
        "headers": headers,
    }


def check(request: dict[str, Any]) -> None:
    app, _ = emulator()
    response = Client(app).open(
        request["path"] or "/",
        method=request["method"],
        query_string=request["query"],
        data=request["body"],
        headers=request["headers"],
    )
    if response.status_code < 400:
        return
    body = response.get_data()
    assert response.mimetype == "application/json", (response.status_code, body[:200])
    envelope = json.loads(body)
    error = envelope.get("error") if isinstance(envelope, dict) else None
    if request["path"] == "/token" and request["method"] == "POST":  # OAuth's error shape
        assert isinstance(error, str), body
        return
    assert isinstance(error, dict), body
    assert error.get("code") == response.status_code, body
    assert isinstance(error.get("message"), str) and error["message"], body


FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FUZZ
@given(requests())
def test_random_requests_get_an_answer_or_a_google_error(request: dict[str, Any]) -> None:
    check(request)


@settings(FUZZ, max_examples=3000, derandomize=False)
@given(requests())
@pytest.mark.slow
def test_many_more_random_requests(request: dict[str, Any]) -> None:
    check(request)
