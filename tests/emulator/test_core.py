"""The emulator's core: routing, transactions, policies with etags, faults, control plane."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import pytest

from provision.emulator.core import iam
from provision.emulator.core.errors import ApiError
from provision.emulator.core.ids import policy_etag
from provision.emulator.core.routing import compile_template
from provision.emulator.core.store import Store
from provision.emulator.core.world import World
from provision.emulator.server import RunningEmulator
from tests.emulator.clients import control, discovery_client, seed_project


def _call(base: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("/v3/projects/{project}", "/v3/projects/p-1", {"project": "p-1"}),
        (
            "/v1/projects/{project}/services/{service}:enable",
            "/v1/projects/p/services/healthcare.googleapis.com:enable",
            {"project": "p", "service": "healthcare.googleapis.com"},
        ),
        ("/v3/{name=**}", "/v3/operations/cp.123", {"name": "operations/cp.123"}),
        ("/storage/v1/b/{bucket}/o/{object}", "/storage/v1/b/b/o/a%2Fb.dcm", None),
    ],
)
def test_templates_match_google_paths(
    template: str, path: str, expected: dict[str, str] | None
) -> None:
    match = compile_template(template).match(path)
    assert match is not None
    if expected is not None:
        assert match.groupdict() == expected


def test_custom_verb_is_not_swallowed_by_a_segment() -> None:
    assert compile_template("/v3/projects/{project}").match("/v3/projects/p:getIamPolicy") is None


def test_failed_transaction_changes_nothing() -> None:
    store = Store()
    with pytest.raises(RuntimeError), store.transaction():
        store.put("c", "k", {"v": 1})
        raise RuntimeError
    assert store.get("c", "k") is None


def test_policy_etags_follow_storage_form() -> None:
    assert policy_etag(1) == "CAE="
    assert policy_etag(2) == "CAI="


def test_stale_etag_is_aborted_and_blind_write_overwrites() -> None:
    world = World(store=Store())
    first = iam.get_policy(world, "projects/p")
    assert first == {"etag": "CAE="}
    binding = {"role": "roles/viewer", "members": ["user:a@example.com"]}
    written = iam.set_policy(
        world, "projects/p", {"bindings": [binding], "etag": first["etag"]}, iam.RESOURCE_MANAGER
    )
    assert written["version"] == 1
    with pytest.raises(ApiError) as stale:
        iam.set_policy(world, "projects/p", {"bindings": [], "etag": "CAE="}, iam.RESOURCE_MANAGER)
    assert stale.value.http == 409
    assert stale.value.status == "ABORTED"
    assert stale.value.message.startswith("There were concurrent policy changes.")
    with pytest.raises(ApiError) as storage_stale:
        iam.set_policy(world, "b/x", {"bindings": [], "etag": "CAZ="}, iam.STORAGE)
    assert storage_stale.value.http == 412
    iam.set_policy(world, "projects/p", {"bindings": []}, iam.RESOURCE_MANAGER)
    assert "bindings" not in iam.get_policy(world, "projects/p")


def test_policy_rules() -> None:
    world = World(store=Store())
    condition = {"title": "t", "expression": "true"}
    cases: list[tuple[iam.Flavor, dict[str, Any], int]] = [
        (iam.RESOURCE_MANAGER, {"role": "roles/viewer", "members": ["allUsers"]}, 400),
        (
            iam.HEALTHCARE,
            {"role": "roles/x.y", "members": ["user:a@b"], "condition": condition},
            400,
        ),
        (iam.RESOURCE_MANAGER, {"role": "roles/x.y", "members": []}, 400),
        (
            iam.RESOURCE_MANAGER,
            {"role": "roles/x.y", "members": ["serviceAccount:a@p.iam.gserviceaccount.com"]},
            400,
        ),
    ]
    for flavor, binding, status in cases:
        with pytest.raises(ApiError) as error:
            iam.set_policy(world, "r", {"bindings": [binding]}, flavor)
        assert error.value.http == status, binding
    with pytest.raises(ApiError) as no_ubla:
        iam.set_policy(
            world,
            "b",
            {
                "version": 3,
                "bindings": [
                    {"role": "roles/x.y", "members": ["user:a@b"], "condition": condition}
                ],
            },
            iam.STORAGE,
            uniform_access=False,
        )
    assert no_ubla.value.http == 412


def test_control_plane_and_journal(emulator: RunningEmulator) -> None:
    base = emulator.base_url
    assert _call(base, "GET", "/_emulator/health") == (200, {"ok": True})
    status, body = _call(base, "GET", "/v3/nothing/here")
    assert status == 404
    assert body["error"]["status"] == "NOT_FOUND"
    status, settings = _call(base, "POST", "/_emulator/settings", {"latency_ms": 1})
    assert status == 200
    assert settings["latency_ms"] == 1
    status, _ = _call(base, "POST", "/_emulator/settings", {"no_such_knob": 1})
    assert status == 400
    _, entries = _call(base, "GET", "/_emulator/journal")
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("GET", "/v3/nothing/here", 404)
    ]


def test_method_latency_and_operation_times_by_method(emulator: RunningEmulator) -> None:
    """`method_latency_ms` and `lro_seconds_by_method` apply per `api.method_id` (exact keys
    first, then patterns); `GET operations` reports each operation's timing."""
    from provision.emulator.core.settings import per_method

    table = {"storage.buckets.insert": 700.0, "*.setIamPolicy": 250.0, "storage.*": 60.0}
    assert per_method(table, "storage.buckets.insert", 90.0) == 700.0
    assert per_method(table, "storage.buckets.setIamPolicy", 90.0) == 250.0
    assert per_method(table, "storage.buckets.get", 90.0) == 60.0
    assert per_method(table, "healthcare.datasets.get", 90.0) == 90.0

    seed_project(emulator, "timed-ops", billing=True)
    control(
        emulator,
        "settings",
        {
            "lro_polls": 0,
            "lro_seconds_by_method": {"serviceusage.services.enable": 0.3},
            "method_latency_ms": {"serviceusage.services.enable": 120},
        },
    )
    su = discovery_client(emulator, "serviceusage", "v1")
    started = time.monotonic()
    operation = (
        su.services().enable(name="projects/timed-ops/services/pubsub.googleapis.com").execute()
    )
    assert time.monotonic() - started >= 0.12
    assert not su.operations().get(name=operation["name"]).execute().get("done")
    time.sleep(0.35)
    assert su.operations().get(name=operation["name"]).execute()["done"]
    (timing,) = [t for t in control(emulator, "operations") if t["name"] == operation["name"]]
    assert timing["method"] == "serviceusage.services.enable"
    assert timing["seconds"] == 0.3
    assert timing["polls"] == 2
    assert timing["noticed"] - timing["created"] >= 0.3


def test_google_profile_is_settings() -> None:
    """The `google` profile is a set of settings; other settings given with it win, and
    `time_scale` shortens its durations only."""
    from provision.emulator.core.profiles import profile_settings
    from provision.emulator.core.settings import EmulatorSettings

    settings = EmulatorSettings().updated({"profile": "google", "latency_ms": 5})
    assert settings.latency_ms == 5
    assert settings.quotas and settings.lro_polls == 0
    assert settings.lro_seconds_by_method["healthcare.projects.locations.datasets.create"] == 10.0
    assert settings.iam_effect_delay_s == 120.0
    quick = profile_settings("google", time_scale=0.1)
    assert quick["lro_seconds_by_method"]["healthcare.projects.locations.datasets.create"] == 1.0
    assert quick["iam_effect_delay_s"] == 12.0
    assert quick["method_latency_ms"] == profile_settings("google")["method_latency_ms"]
    with pytest.raises(ValueError, match="unknown profile"):
        EmulatorSettings().updated({"profile": "aws"})
