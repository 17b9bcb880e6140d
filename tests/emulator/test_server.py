"""The emulator's HTTP server: kept-alive connections, chunked bodies on them, raw paths, resets,
and a stop that leaves no thread behind."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import pytest

from provision.emulator.server import RunningEmulator, start_background
from tests.conftest import journal
from tests.emulator.clients import control, seed_project


def _address(emulator: RunningEmulator) -> tuple[str, int]:
    host, port = emulator.base_url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def _connection(emulator: RunningEmulator) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(*_address(emulator), timeout=10)


def _call(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    body: bytes | Iterator[bytes] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes, int]:
    """(status, body, client port): the port tells which TCP connection carried the request."""
    conn.request(method, path, body=body, headers=headers or {}, encode_chunked=body is not None)
    response = conn.getresponse()
    data = response.read()
    assert response.getheader("Connection") != "close"
    assert conn.sock is not None
    return response.status, data, int(conn.sock.getsockname()[1])


def _insert_bucket_chunked(
    conn: http.client.HTTPConnection, project: str, name: str
) -> tuple[int, bytes, int]:
    """`buckets.insert` of `name` in `project`, its body sent chunked."""
    return _call(
        conn,
        "POST",
        f"/storage/v1/b?project={project}",
        json.dumps({"name": name}).encode(),
        {"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
    )


def _chunks(*parts: bytes) -> Iterator[bytes]:
    yield from parts


def test_requests_share_one_connection(emulator: RunningEmulator) -> None:
    with closing(_connection(emulator)) as conn:
        ports = {_call(conn, "GET", "/_emulator/health")[2] for _ in range(5)}
    assert len(ports) == 1


def test_chunked_upload_keeps_the_raw_object_path(emulator: RunningEmulator) -> None:
    seed_project(emulator, "chunked-upload")
    with closing(_connection(emulator)) as conn:
        status, _, first = _insert_bucket_chunked(conn, "chunked-upload", "chunked-bucket")
        assert status == 200
        status, _, second = _call(
            conn,
            "POST",
            "/upload/storage/v1/b/chunked-bucket/o?uploadType=media&name=dir%2Fa.dcm",
            _chunks(b"DICM", b"-chunked", b"-body"),
            {"Content-Type": "application/dicom", "Transfer-Encoding": "chunked"},
        )
        assert status == 200
        status, data, third = _call(
            conn, "GET", "/storage/v1/b/chunked-bucket/o/dir%2Fa.dcm?alt=media"
        )
    assert (status, data) == (200, b"DICM-chunked-body")
    assert first == second == third
    paths = [entry["path"] for entry in journal(emulator)]
    assert "/storage/v1/b/chunked-bucket/o/dir%2Fa.dcm" in paths


def test_an_unread_chunked_body_does_not_spill_into_the_next_request(
    emulator: RunningEmulator,
) -> None:
    with closing(_connection(emulator)) as conn:
        status, _, first = _call(
            conn,
            "POST",
            "/no/such/api",
            _chunks(b"GET /not-a-request HTTP/1.1\r\n", b"x" * 70_000),
            {"Transfer-Encoding": "chunked"},
        )
        assert status == 404
        status, data, second = _call(conn, "GET", "/_emulator/health")
    assert status == 200
    assert json.loads(data) == {"ok": True}
    assert first == second


def test_injected_reset_drops_a_kept_alive_connection(emulator: RunningEmulator) -> None:
    seed_project(emulator, "reset-keepalive")
    rule = {"status": 0, "api": "cloudresourcemanager", "method_id": "projects.get", "times": 1}
    control(emulator, "settings", {"rules": [rule]})
    with closing(_connection(emulator)) as conn:
        _call(conn, "GET", "/_emulator/health")
        conn.request("GET", "/v3/projects/reset-keepalive")
        with pytest.raises((ConnectionError, http.client.HTTPException)):
            conn.getresponse().read()
    with closing(_connection(emulator)) as conn:
        status, data, _ = _call(conn, "GET", "/v3/projects/reset-keepalive")
    assert status == 200
    assert json.loads(data)["projectId"] == "reset-keepalive"


def test_stop_ends_every_server_thread() -> None:
    before = set(threading.enumerate())
    running = start_background(port=0)
    try:
        assert not running.base_url.endswith(":0")
        with closing(_connection(running)) as conn:
            assert _call(conn, "GET", "/_emulator/health")[0] == 200
            running.stop()
    finally:
        running.stop()
    left: list[Any] = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert left == []


def test_a_body_cut_short_is_neither_run_nor_journaled(emulator: RunningEmulator) -> None:
    """A client killed mid-request leaves headers announcing more body than arrives; Google never
    sees such a request, so the emulator must not run it (here: blank a bucket's policy)."""
    seed_project(emulator, "cut-short")
    with closing(_connection(emulator)) as conn:
        status, _, _ = _insert_bucket_chunked(conn, "cut-short", "cut-short-bucket")
    assert status == 200
    before = len(journal(emulator))
    with socket.create_connection(_address(emulator), timeout=10) as raw:
        raw.sendall(
            b"PUT /storage/v1/b/cut-short-bucket/iam HTTP/1.1\r\nHost: emulator\r\n"
            b"Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{}"
        )
        raw.shutdown(socket.SHUT_WR)
        raw.recv(1000)
    with closing(_connection(emulator)) as conn:
        status, data, _ = _call(conn, "GET", "/storage/v1/b/cut-short-bucket/iam")
    roles = {binding["role"] for binding in json.loads(data)["bindings"]}
    assert status == 200 and "roles/storage.legacyBucketOwner" in roles
    assert len(journal(emulator)) == before + 1  # the GET only


def test_the_state_control_lists_every_document_by_collection(
    emulator: RunningEmulator,
) -> None:
    assert control(emulator, "state") == {}
    seed_project(emulator, "state-demo")
    state = control(emulator, "state")
    assert state == emulator.world.store.documents()
    assert [doc["projectId"] for doc in state["projects"].values()] == ["state-demo"]
