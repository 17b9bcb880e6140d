"""The discovery gate: requests Google would refuse are refused before any handler runs, with
Google's texts, and every route is a method of its API's discovery document."""

from __future__ import annotations

import http.client
import json
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from googleapiclient.errors import HttpError

from provision.emulator.app import api_routes
from provision.emulator.core.gate import OUTSIDE_DISCOVERY, WRONG_URL_FOR_UPLOAD, described
from provision.emulator.server import RunningEmulator
from tests.conftest import journal
from tests.emulator.seeding import healthcare_client, seed_project

PROJECT = "gate-test"
LOCATION = f"projects/{PROJECT}/locations/us-central1"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"


def _raw(
    emulator: RunningEmulator, method: str, path: str, body: Any = None
) -> tuple[int, dict[str, Any]]:
    """One plain HTTP exchange (client libraries refuse to send undeclared parameters)."""
    netloc = urlsplit(emulator.base_url).netloc
    connection = http.client.HTTPConnection(netloc, timeout=10)
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if data is not None else {}
    connection.request(method, path, body=data, headers=headers)
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    return response.status, json.loads(payload or b"{}")


def _sample(template: str) -> str:
    """A concrete path for an emulator route template (`{x=**}` as one segment)."""
    return re.sub(r"\{(\w+)=\*\*\}", r"\1", template)


def test_every_route_is_a_discovery_method_with_its_verb_and_path() -> None:
    for route in api_routes():
        if (route.api, route.method_id) in OUTSIDE_DISCOVERY:
            continue
        found = described(route)
        assert found is not None, f"{route.method} {route.template}: no discovery method"
        _, method = found
        sample = _sample(route.template).replace("{", "").replace("}", "")
        paths = [method.path, method.template, *method.upload_paths, method.download_path or ""]
        assert any(template_regex(path).match(sample) for path in paths), (
            f"{route.method} {route.template} is not a path of {method.id}: {paths}"
        )
        on_upload_path = route.template.startswith(("/upload/", "/resumable/"))
        session = on_upload_path and route.method == "PUT"  # a resumable upload's later chunks
        assert route.method == method.http_method or session, (route.method, method.id)


def test_an_unknown_body_field_is_refused_with_googles_text(emulator: RunningEmulator) -> None:
    seed_project(emulator.world, PROJECT)
    datasets = healthcare_client(emulator).projects().locations().datasets()
    with pytest.raises(HttpError) as refused:
        datasets.create(parent=LOCATION, datasetId="ds", body={"labels": {"a": "b"}}).execute()
    assert refused.value.resp.status == 400
    error = json.loads(refused.value.content)["error"]
    text = "Invalid JSON payload received. Unknown name \"labels\" at 'dataset': Cannot find field."
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["message"] == text
    assert error["details"] == [
        {"@type": BAD_REQUEST, "fieldViolations": [{"field": "dataset", "description": text}]}
    ]
    assert [e["method_id"] for e in journal(emulator)][-1].endswith("datasets.create")
    assert datasets.list(parent=LOCATION).execute() == {}, "nothing was created"


def test_nested_unknown_fields_and_wrong_types_are_each_named(emulator: RunningEmulator) -> None:
    seed_project(emulator.world, PROJECT)
    stores = healthcare_client(emulator).projects().locations().datasets().dicomStores()
    body = {"labels": {"a": 1}, "notificationConfig": {"pubsubTopic": 5, "topic": "x"}}
    with pytest.raises(HttpError) as refused:
        stores.create(parent=f"{LOCATION}/datasets/ds", dicomStoreId="s", body=body).execute()
    message = json.loads(refused.value.content)["error"]["message"].splitlines()
    assert message == [
        "Invalid value at 'dicom_store.labels[0].value' (TYPE_STRING), 1",
        "Invalid value at 'dicom_store.notification_config.pubsub_topic' (TYPE_STRING), 5",
        'Invalid JSON payload received. Unknown name "topic" at '
        "'dicom_store.notification_config': Cannot find field.",
    ]


def test_proto_field_names_are_accepted_and_enum_names_checked(emulator: RunningEmulator) -> None:
    seed_project(emulator.world, PROJECT)
    datasets = healthcare_client(emulator).projects().locations().datasets()
    operation = datasets.create(parent=LOCATION, datasetId="ds", body={"time_zone": "UTC"})
    assert "name" in operation.execute()
    assert datasets.get(name=f"{LOCATION}/datasets/ds").execute()["timeZone"] == "UTC"
    policy = {
        "policy": {"auditConfigs": [{"service": "x", "auditLogConfigs": [{"logType": "NO"}]}]}
    }
    with pytest.raises(HttpError) as refused:
        datasets.setIamPolicy(resource=f"{LOCATION}/datasets/ds", body=policy).execute()
    error = json.loads(refused.value.content)["error"]
    assert error["message"] == (
        "Invalid value at 'policy.audit_configs[0].audit_log_configs[0].log_type' (TYPE_ENUM), "
        '"NO"'
    )


def test_an_undeclared_query_parameter_is_refused(emulator: RunningEmulator) -> None:
    seed_project(emulator.world, PROJECT)
    status, body = _raw(emulator, "GET", f"/v1/{LOCATION}/datasets?pageSize=10&colour=red")
    assert status == 400
    assert body["error"]["message"] == (
        'Invalid JSON payload received. Unknown name "colour": Cannot bind query parameter. '
        "Field 'colour' could not be found in request message."
    )
    status, body = _raw(emulator, "GET", f"/v1/{LOCATION}/datasets?pageSize=ten")
    assert (status, body["error"]["message"]) == (
        400,
        "Invalid value at 'page_size' (TYPE_INT32), \"ten\"",
    )
    status, _ = _raw(emulator, "GET", f"/v1/{LOCATION}/datasets?pageSize=10&prettyPrint=false")
    assert status == 200, "system parameters are declared by the document"


def test_storage_refusals_use_storages_envelope(emulator: RunningEmulator) -> None:
    seed_project(emulator.world, PROJECT)
    status, body = _raw(
        emulator, "POST", f"/storage/v1/b?project={PROJECT}", {"name": "b1", "x": 1}
    )
    assert status == 400
    assert set(body["error"]) == {"code", "message", "errors"}
    assert body["error"]["errors"][0]["reason"] == "invalid"
    assert "Unknown name \"x\" at 'bucket'" in body["error"]["message"]
    status, body = _raw(emulator, "GET", "/storage/v1/b/b1?projection=some")
    assert (status, body["error"]["message"]) == (400, "Invalid value for projection: some")


def test_media_methods_are_served_only_on_their_upload_paths(emulator: RunningEmulator) -> None:
    seed_project(emulator.world, PROJECT)
    assert _raw(emulator, "POST", f"/storage/v1/b?project={PROJECT}", {"name": "gate-b1"})[0] == 200
    status, body = _raw(emulator, "POST", "/storage/v1/b/gate-b1/o?name=x", {"name": "x"})
    assert status == 400
    assert body["error"]["message"] == WRONG_URL_FOR_UPLOAD
    assert body["error"]["errors"][0]["reason"] == "wrongUrlForUpload"
    status, body = _raw(emulator, "POST", "/upload/storage/v1/b/gate-b1/o?name=x", {"name": "x"})
    assert (status, body["error"]["errors"][0]["reason"]) == (400, "wrongUrlForUpload")
    status, _ = _raw(emulator, "POST", "/upload/storage/v1/b/gate-b1/o?uploadType=media&name=x", {})
    assert status == 200


def test_a_method_the_emulator_lacks_is_501_never_absent(emulator: RunningEmulator) -> None:
    seed_project(emulator.world, PROJECT)
    assert _raw(emulator, "POST", f"/storage/v1/b?project={PROJECT}", {"name": "gate-b2"})[0] == 200
    status, body = _raw(emulator, "GET", "/storage/v1/b/gate-b2/notificationConfigs")
    assert (status, body["error"]["message"]) == (
        501,
        "storage.notifications.list is not emulated.",
    )
    assert body["error"]["errors"][0]["reason"] == "notImplemented"
    status, body = _raw(emulator, "GET", f"/v1/{LOCATION}/datasets/ds/fhirStores/f/fhir/Patient/p1")
    assert status == 501
    assert body["error"]["status"] == "UNIMPLEMENTED"
    status, body = _raw(emulator, "GET", "/v9/nothing/here")
    assert (status, body["error"]["status"]) == (404, "NOT_FOUND")


def test_multipart_upload_metadata_and_required_parameters_are_checked(
    emulator: RunningEmulator,
) -> None:
    seed_project(emulator.world, PROJECT)
    assert _raw(emulator, "POST", f"/storage/v1/b?project={PROJECT}", {"name": "gate-b3"})[0] == 200
    boundary = "b0undary"
    body = (
        f"--{boundary}\nContent-Type: application/json\n\n"
        '{"name": "x", "bogus": 1}\n'
        f"--{boundary}\nContent-Type: text/plain\n\nhello\n--{boundary}--\n"
    )
    netloc = urlsplit(emulator.base_url).netloc
    connection = http.client.HTTPConnection(netloc, timeout=10)
    connection.request(
        "POST",
        "/upload/storage/v1/b/gate-b3/o?uploadType=multipart",
        body=body.encode(),
        headers={"Content-Type": f"multipart/related; boundary={boundary}"},
    )
    answer = connection.getresponse()
    message = json.loads(answer.read())["error"]["message"]
    connection.close()
    assert answer.status == 400
    assert "Unknown name \"bogus\" at 'object'" in message
    status, refused = _raw(emulator, "GET", "/storage/v1/b")
    assert (status, refused["error"]["message"]) == (400, "Required parameter: project")


def test_storage_may_ignore_undeclared_names(emulator: RunningEmulator) -> None:
    """What Cloud Storage does with undeclared names is a setting (not recorded anywhere)."""
    seed_project(emulator.world, PROJECT)
    emulator.world.configure({"storage_unknown_names": "ignore"})
    status, _ = _raw(emulator, "POST", f"/storage/v1/b?project={PROJECT}&x=1", {"name": "gate-b4"})
    assert status == 200


def test_a_body_may_repeat_a_path_parameter_of_a_whole_request_method(
    emulator: RunningEmulator,
) -> None:
    seed_project(emulator.world, PROJECT, services=("cloudkms.googleapis.com",))
    ring = f"{LOCATION}/keyRings/r"
    assert _raw(emulator, "POST", f"/v1/{LOCATION}/keyRings?keyRingId=r", {})[0] == 200
    body = {"purpose": "ENCRYPT_DECRYPT"}
    assert _raw(emulator, "POST", f"/v1/{ring}/cryptoKeys?cryptoKeyId=k", body)[0] == 200
    version = f"{ring}/cryptoKeys/k/cryptoKeyVersions/1"
    status, answer = _raw(emulator, "POST", f"/v1/{version}:destroy", {"bogus": version})
    assert status == 400
    assert 'Unknown name "bogus"' in answer["error"]["message"]
    status, answer = _raw(emulator, "POST", f"/v1/{version}:destroy", {"name": version})
    assert (status, answer["state"]) == (200, "DESTROY_SCHEDULED")


def test_a_remembered_query_check_answers_as_the_first(emulator: RunningEmulator) -> None:
    """Query checks are remembered per route and query string (and the setting that changes
    them): the same query is refused the same way again, and Storage's undeclared names follow
    the setting even for a query seen before."""
    seed_project(emulator.world, PROJECT)
    bad = f"/v1/{LOCATION}/datasets?pageSize=10&colour=red"
    first, second = _raw(emulator, "GET", bad), _raw(emulator, "GET", bad)
    assert first == second and first[0] == 400
    assert _raw(emulator, "GET", f"/v1/{LOCATION}/datasets?pageSize=10")[0] == 200
    path = f"/storage/v1/b?project={PROJECT}&x=1"
    assert _raw(emulator, "POST", path, {"name": "gate-b5"})[0] == 400
    emulator.world.configure({"storage_unknown_names": "ignore"})
    assert _raw(emulator, "POST", path, {"name": "gate-b5"})[0] == 200


def template_regex(template: str) -> re.Pattern[str]:
    """A regex for a discovery path template: `{x}` is one segment, `{+x}` any text."""
    pattern = ""
    position = 0
    for match in re.finditer(r"\{(\+?)([^}]+)\}", template):
        pattern += re.escape(template[position : match.start()])
        pattern += ".+" if match.group(1) else "[^/]+"
        position = match.end()
    return re.compile("^" + pattern + re.escape(template[position:]) + "$")
