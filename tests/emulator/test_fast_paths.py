"""The emulator's cheaper ways of doing per-request work give exactly what the general ways give:
buffered answers against werkzeug's Response, the combined route table against trying
each route in turn, lazily begun transactions, the server's line reader, and query parameters
read without an exception per missing name against werkzeug's."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from cheroot import makefile
from werkzeug.datastructures import Headers
from werkzeug.test import EnvironBuilder, run_wsgi_app
from werkzeug.wrappers import Request, Response

from provision.emulator.app import _with_cors, api_routes
from provision.emulator.core.routing import (
    Answer,
    EmulatorRequest,
    Route,
    Router,
    WsgiAnswer,
    buffered,
)
from provision.emulator.core.store import Store
from provision.emulator.server import _Reader

_STATUSES = (200, 201, 204, 206, 304, 308, 400, 404, 409, 412, 416, 429, 503)
_HEADERS: tuple[dict[str, Any] | None, ...] = (
    None,
    {},
    {"X-Goog-Hash": "crc32c=AAAAAA==,md5=x", "X-Goog-Generation": 17, "ETag": "CAE="},
    {"Retry-After": "30"},
    {"Location": "http://h/upload?id=a b", "X-GUploader-UploadID": "u"},
    {"Content-Location": "/x y"},
    {"content-type": "text/html"},
    {"Content-Length": "3"},
    {"Access-Control-Max-Age": "1"},
    {"Range": "bytes=0-9"},
)


def _sent(answer: WsgiAnswer, method: str, origin: str | None) -> tuple[str, list[Any], bytes]:
    headers = Headers({"Origin": origin, "Access-Control-Request-Headers": "X-A"} if origin else {})
    environ = EnvironBuilder(path="/p", method=method, headers=headers).get_environ()
    answer = _with_cors(answer, Request(environ))
    body, status, sent = run_wsgi_app(answer, environ)
    return status, list(sent.items()), b"".join(body)


@pytest.mark.parametrize("status", _STATUSES)
@pytest.mark.parametrize("headers", _HEADERS)
def test_buffered_answers_are_werkzeugs(status: int, headers: dict[str, Any] | None) -> None:
    for body in (b"", b'{\n  "a": 1\n}\n', b"\x00\xff"):
        for method, origin in (("GET", None), ("POST", "http://viewer"), ("HEAD", None)):
            ours = buffered(status, body, "application/json; charset=UTF-8", headers)
            werkzeugs = Response(
                body, status=status, headers=headers, content_type="application/json; charset=UTF-8"
            )
            assert _sent(ours, method, origin) == _sent(werkzeugs, method, origin)


def test_plain_answers_skip_werkzeug() -> None:
    assert isinstance(buffered(200, b"{}", "application/json", {"ETag": "x"}), Answer)
    assert isinstance(buffered(200, b"", "text/plain", {"Location": "/x"}), Response)
    assert isinstance(buffered(204, b"", "text/plain"), Response)


def _linear(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for route in routes:
        found = route.regex.match(path) if route.method == method else None
        if found:
            return route, {key: unquote(value) for key, value in found.groupdict().items()}
    return None


def test_route_table_finds_the_first_matching_route() -> None:
    routes = api_routes()
    router = Router(routes)
    paths = {"/", "/v1", "/storage/v1/b", "/nothing/here"}
    for route in routes:
        for fill in ("p", "a%2Fb", "x:y", "a/b", "p:getIamPolicy", "%E2%9C%93"):
            path = re.sub(r"\{(\w+)(=\*\*)?\}", fill, route.template)
            paths |= {path, path + "/extra", path + ":verb", path + "\n"}
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"):
        for path in sorted(paths):
            assert router.match(method, path) == _linear(routes, method, path), (method, path)


@pytest.mark.parametrize("on_disk", [False, True])
def test_a_failed_transaction_that_read_first_changes_nothing(
    tmp_path: Path, on_disk: bool
) -> None:
    store = Store(tmp_path / "state.db" if on_disk else None)
    store.put("c", "kept", {"v": 0})
    with pytest.raises(RuntimeError), store.transaction():
        assert store.get("c", "kept") == {"v": 0}
        with store.transaction():
            store.put("c", "k", {"v": 1})
            store.delete("c", "kept")
            store.put_blob("b", b"x")
            store.next_value("n")
        raise RuntimeError
    assert store.get("c", "k") is None
    assert store.get("c", "kept") == {"v": 0}
    assert store.get_blob("b") is None
    with store.transaction():
        assert store.get("c", "kept") == {"v": 0}
    with store.transaction():
        store.put("c", "k", {"v": 2})
    assert store.get("c", "k") == {"v": 2}
    assert store.next_value("n") == 1
    store.close()


def _lines(reader_class: Any, data: bytes, size: int | None) -> tuple[list[bytes], int]:
    left, right = socket.socketpair()
    try:
        left.sendall(data)
        left.shutdown(socket.SHUT_WR)
        reader = reader_class(right, "rb", 8192)
        lines = []
        while line := reader.readline(size):
            lines.append(line)
        return lines, reader.bytes_read
    finally:
        left.close()
        right.close()


def test_line_reader_reads_what_cheroots_reader_reads() -> None:
    data = b"GET /a HTTP/1.1\r\nHost: h\r\n" + b"X-Long: " + b"v" * 9000 + b"\r\n\r\nrest"
    for size in (-1, None, 100_000):
        assert _lines(_Reader, data, size) == _lines(makefile.StreamReader, data, size)
    for size in (1, 5, 256):
        # A limited read gives the same lines in pieces of at most `size` bytes (cheroot's own
        # reader can exceed the limit where a line crosses its buffer's end).
        pieces, count = _lines(_Reader, data, size)
        assert count == len(data)
        assert all(len(piece) <= size for piece in pieces)
        assert b"".join(pieces) == data
        assert all(piece.endswith(b"\n") or len(piece) == size for piece in pieces[:-1])


@pytest.mark.parametrize(
    "query", ["", "fields=name", "a=1&a=2&b=", "pageSize=x&pageSize=5", "filter=%3Dx&fields="]
)
def test_query_args_answer_as_werkzeugs(query: str) -> None:
    environ = EnvironBuilder(path="/v1/x", query_string=query).get_environ()
    ours, theirs = EmulatorRequest(environ).args, Request(environ).args
    assert list(ours.items(multi=True)) == list(theirs.items(multi=True))
    for name in ("fields", "a", "b", "pageSize", "filter", "missing"):
        assert ours.get(name) == theirs.get(name)
        assert ours.get(name, "default") == theirs.get(name, "default")
        assert ours.get(name, -1, type=int) == theirs.get(name, -1, type=int)
        assert ours.getlist(name) == theirs.getlist(name)


def test_form_parameters_answer_as_werkzeugs() -> None:
    def environ() -> dict[str, Any]:  # each request reads its own copy of the body
        sent = {"a": ["1", "2"], "b": ""}
        return EnvironBuilder(path="/v1/x", method="POST", data=sent).get_environ()

    ours, theirs = EmulatorRequest(environ()).form, Request(environ()).form
    assert list(ours.items(multi=True)) == list(theirs.items(multi=True)) != []
    for name in ("a", "b", "missing"):
        assert ours.get(name, "default") == theirs.get(name, "default")
