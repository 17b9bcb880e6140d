"""The emulator's WSGI application: one server, Google's own paths for every API.

Each request: match a route, sleep the injected latency, maybe inject a fault, run the handler in
one store transaction (so a failed request changes nothing), maybe replace the answer with an
error after the commit, and record the exchange in the journal.

A batch (Cloud Storage's `POST /batch/storage/v1`, Cloud Healthcare's `POST /batch`; see
core/batch.py) runs each of its calls the same way except for the latency, which the batch sleeps
once after its calls; every call has its own journal entry, followed by the batch's own
(`method_id` `batch`).
"""

from __future__ import annotations

import io
import json
import socket
import struct
import sys
import time
from collections.abc import Iterable
from typing import Any

from werkzeug.exceptions import ClientDisconnected
from werkzeug.wrappers import Request, Response

from provision.emulator import control
from provision.emulator.core import batch, fields, lro
from provision.emulator.core.answers import AnswerLog, Violation, check_answer
from provision.emulator.core.errors import ApiError, Dialect
from provision.emulator.core.faults import RESET, Faults, injected_error
from provision.emulator.core.gate import Gate, unserved_routes
from provision.emulator.core.journal import Entry
from provision.emulator.core.routing import (
    CORS_HEADERS,
    Answer,
    Ctx,
    EmulatorRequest,
    Reply,
    Route,
    Router,
    WsgiAnswer,
    buffered,
    error_response,
    json_response,
)
from provision.emulator.core.world import World
from provision.emulator.healthcare import batch as healthcare_batch
from provision.emulator.storage import batch as storage_batch

BAD_GATEWAY_PAGE = (
    b"<!DOCTYPE html>\n<html lang=en>\n<meta charset=utf-8>\n<title>Error 502 (Server Error)!!1"
    b"</title>\n<p><b>502.</b> <ins>That\xe2\x80\x99s an error.</ins>\n<p>The server encountered "
    b"a temporary error and could not complete your request.<p>Please try again in 30 seconds. "
    b"<ins>That\xe2\x80\x99s all we know.</ins>\n"
)
"""What Google's front end answers for a 502 (an HTML page, not an API error)."""
BATCH_ENDPOINTS: dict[str, batch.Endpoint] = {
    endpoint.path: endpoint for endpoint in (storage_batch.ENDPOINT, healthcare_batch.ENDPOINT)
}
"""The batch endpoints the emulator answers, by path."""
CONNECTION_SOCKET = "provision.emulator.socket"
"""Environ key under which the server passes the request's connection socket (see server.py);
absent when the app is called without a connection (werkzeug's test client)."""


def api_routes() -> list[Route]:
    """Every API's routes. Each API package exposes `routes() -> list[Route]`."""
    from provision.emulator import api_modules

    routes: list[Route] = []
    for module in api_modules.MODULES:
        routes.extend(module.routes())
    return routes


class EmulatorApp:
    def __init__(self, world: World, *, log_requests: bool = False) -> None:
        self.world = world
        self.router = Router(api_routes())
        self.gate = Gate(self.router.routes)
        self.unserved = Router(unserved_routes(self.router.routes))
        self.answer_log = AnswerLog.from_env()
        self.faults = Faults(world.settings.seed)
        self.log_requests = log_requests

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = EmulatorRequest(environ)
        response = self.dispatch(request)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> WsgiAnswer:
        if _cut_short(request):
            # The client went away mid-body (e.g. killed): Google never sees such a request, so
            # it is neither run nor journaled. Nobody reads this answer.
            return Response("request body cut short", status=400)
        request = _overridden(request)
        raw_path = _raw_path(request)
        if raw_path.startswith("/_emulator/"):
            return control.handle(self.world, self.faults, request, raw_path)
        if request.method == "OPTIONS":
            return _with_cors(Response(status=204), request)
        endpoint = BATCH_ENDPOINTS.get(raw_path) if request.method == "POST" else None
        if endpoint is not None and self._answers(endpoint):
            return _with_cors(self._batch(request, raw_path, endpoint), request)
        matched = self._match(request, raw_path)
        response, injected = self._serve(request, raw_path, matched, in_batch=False)
        if injected.endswith("reset"):
            _reset_connection(request)
        return _with_cors(response, request)

    def _match(self, request: Request, raw_path: str) -> tuple[Route, dict[str, str]] | None:
        """The route (emulated or not) of a request, with its path parameters."""
        return self.router.match(request.method, raw_path) or self.unserved.match(
            request.method, raw_path
        )

    def _serve(
        self,
        request: Request,
        raw_path: str,
        matched: tuple[Route, dict[str, str]] | None,
        *,
        in_batch: bool,
    ) -> tuple[WsgiAnswer, str]:
        """Run and journal one API request of route `matched` (None: no route matched, 404);
        returns the answer and what was injected. `in_batch`: a call of a batch, which sleeps
        the latency once for all its calls. An injected reset (`...reset`) is the caller's to
        do, once the exchange is journaled."""
        started = time.perf_counter()
        start_wall = time.time()
        injected = ""
        if matched is None:
            error = ApiError("NOT_FOUND", f"The requested URL {raw_path} was not found.")
            response = error_response(error, "esf")
            route_api, method_id, mutating = "unknown", "unknown", False
        else:
            route, params = matched
            route_api, method_id, mutating = route.api, route.method_id, route.mutating
            response, injected = self._run(
                route, params, request, delay=not in_batch, arrived=start_wall
            )
        if self.answer_log is not None:
            self._check_answer(matched[0] if matched else None, request, raw_path, response)
        self._record(
            request,
            raw_path,
            response.status_code,
            (route_api, method_id, mutating),
            started,
            start_wall,
            injected,
            in_batch=in_batch,
        )
        return response, injected

    def _check_answer(
        self, route: Route | None, request: Request, raw_path: str, response: WsgiAnswer
    ) -> None:
        """Hold a JSON answer against Google's (see core/answers.py); log what differs."""
        assert self.answer_log is not None
        content_type = _header(response, "Content-Type")
        if not content_type.startswith("application/json"):
            return
        data = response.body if isinstance(response, Answer) else response.get_data()
        self.answer_log.count()
        found = self.gate.described(route) if route is not None else None
        if route is not None and found is None:
            return  # outside discovery (the OAuth token endpoint): its own formats, RFC 6749's
        doc, method = found if found is not None else (None, None)
        name = f"{route.api}.{route.method_id}" if route is not None else "unknown"
        try:
            body = json.loads(data)
        except ValueError:
            problems = [("", "the answer is not JSON")]
        else:
            problems = check_answer(
                doc,
                method,
                response.status_code,
                body,
                storage=route is not None and route.dialect == "storage",
                partial="fields" in request.args,
                numeric_enums="enum-encoding=int" in request.args.get("$alt", ""),
                status_field=self.world.settings.storage_error_status_field,
            )
        where = f"{request.method} {raw_path}"
        for field, message in problems:
            self.answer_log.record(Violation(name, response.status_code, field, message, where))

    def _answers(self, endpoint: batch.Endpoint) -> bool:
        """Whether the batch endpoint is on (its setting, when it has one)."""
        return endpoint.setting is None or bool(getattr(self.world.settings, endpoint.setting))

    def _batch(self, request: Request, raw_path: str, endpoint: batch.Endpoint) -> WsgiAnswer:
        """A batch: each call through `_serve` in order (without latency), the latency once,
        then one multipart answer. A call whose fault resets the connection ends the batch there
        (later calls do not run): the client sees a dropped connection. A fault rule for
        `method_id="batch"` (and the endpoint's api) fails the batch as a whole, before any call
        runs."""
        started = time.perf_counter()
        start_wall = time.time()
        injected = ""
        response: WsgiAnswer
        settings = self.world.settings
        fault = self.faults.choose(settings, endpoint.api, "batch", False)
        try:
            if fault is not None and fault.status != RESET:
                injected = "before-commit"
                raise injected_error(fault.status, endpoint.api)
            parts = batch.parse(
                request.get_data(), request.headers.get("Content-Type", ""), endpoint.max_calls
            )
        except ApiError as error:
            if fault is not None and not injected:  # a reset chosen for an unreadable batch
                self.faults.not_injected(fault)
            self.faults.delay(settings, f"{endpoint.api}.batch")
            response = self._batch_error(error, endpoint)
        else:
            answers = [] if fault else self._batch_calls(request, parts, endpoint)
            self.faults.delay(settings, f"{endpoint.api}.batch")
            if fault or len(answers) < len(parts):
                injected = "reset"
                response = Response(status=500)
            else:
                body, content_type = batch.render(answers)
                response = buffered(200, body, content_type)
        self._record(
            request,
            raw_path,
            response.status_code,
            (endpoint.api, "batch", False),
            started,
            start_wall,
            injected,
        )
        if injected == "reset":
            _reset_connection(request)
        return response

    def _batch_calls(
        self, request: Request, parts: list[batch.Part], endpoint: batch.Endpoint
    ) -> list[tuple[batch.Part, WsgiAnswer, dict[str, Any]]]:
        """Run a batch's calls in order, up to one whose fault resets the connection. The store
        stays locked from the first call to the last: each call is still its own transaction,
        but concurrent batches take turns instead of waking each other for every call. (More
        orderly than Google promises: no other request's write lands between a batch's calls.
        The tool batches only reads, and relies on no such order.)"""
        answers: list[tuple[batch.Part, WsgiAnswer, dict[str, Any]]] = []
        shared = batch.shared_environ(request.environ)
        with self.world.store.lock:
            for part in parts:
                inner = _overridden(EmulatorRequest(batch.part_environ(shared, part)))
                matched = self._match(inner, part.path)
                if _in_endpoint(endpoint, part, matched):
                    answer, injected = self._serve(inner, part.path, matched, in_batch=True)
                else:
                    answer, injected = self._rejected(inner, part, endpoint), ""
                if injected.endswith("reset"):
                    break
                answers.append((part, answer, inner.environ))
        return answers

    def _rejected(self, request: Request, part: batch.Part, endpoint: batch.Endpoint) -> WsgiAnswer:
        """A batch call of another API: answered 400, run nowhere, journaled like a request no
        route matches."""
        started = time.perf_counter()
        response = self._batch_error(batch.outside(endpoint, part), endpoint)
        self._record(
            request,
            part.path,
            response.status_code,
            ("unknown", "unknown", False),
            started,
            time.time(),
            "",
            in_batch=True,
        )
        return response

    def _record(
        self,
        request: Request,
        raw_path: str,
        status: int,
        route: tuple[str, str, bool],
        started: float,
        start_wall: float,
        injected: str,
        *,
        in_batch: bool = False,
    ) -> None:
        """Journal one exchange (and log it with `log_requests`); `route` is (api, method_id,
        mutating); `in_batch` marks a call of a batch."""
        api, method_id, mutating = route
        elapsed = (time.perf_counter() - started) * 1000.0
        self.world.journal.append(
            Entry(
                method=request.method,
                path=raw_path,
                query=request.query_string.decode("latin-1"),
                status=status,
                api=api,
                method_id=method_id,
                mutating=mutating,
                ms=round(elapsed, 3),
                start=start_wall,
                injected=injected,
                in_batch=in_batch,
            )
        )
        if self.log_requests:
            print(
                f"{request.method} {raw_path} -> {status} ({elapsed:.1f} ms)"
                f"{' [' + injected + ']' if injected else ''}",
                file=sys.stderr,
                flush=True,
            )

    def _run(
        self,
        route: Route,
        params: dict[str, str],
        request: Request,
        *,
        delay: bool = True,
        arrived: float = 0.0,
    ) -> tuple[WsgiAnswer, str]:
        settings = self.world.settings
        method = f"{route.api}.{route.method_id}"
        if delay:
            self.faults.delay(settings, method)
        refused = self.gate.check(
            route, request, storage_unknown_names=settings.storage_unknown_names
        )
        if refused is not None:
            return self._error(refused, route), ""
        fault = self.faults.choose(settings, route.api, route.method_id, route.mutating)
        if fault is not None and not fault.after_commit:
            if fault.status == RESET:
                return Response(status=500), "reset"
            return self._injected(fault.status, route), "before-commit"
        if settings.quotas:
            exceeded = self.world.quotas.charge(
                route.api,
                route.method_id,
                route.mutating,
                _consumer(self.world, params, request),
                self.world.now(),
                settings.quota_limits,
            )
            if exceeded is not None:
                return self._error(exceeded, route), "quota"
        ctx = Ctx(self.world, request, params, route)
        current = lro.CURRENT_REQUEST.set(lro.RequestInfo(method, arrived or time.time()))
        try:
            with self.world.store.transaction():
                result = route.handler(ctx)
                response = _to_response(fields.select(result, request.args.get("fields")))
        except ApiError as error:
            if fault is not None:
                self.faults.not_injected(fault)
            return self._error(error, route), ""
        finally:
            lro.CURRENT_REQUEST.reset(current)
        if fault is not None and response.status_code >= 400:
            self.faults.not_injected(fault)
        if fault is not None and response.status_code < 400:
            if fault.status == RESET:
                return Response(status=500), "after-commit reset"
            return self._injected(fault.status, route), "after-commit"
        return response, ""

    def _injected(self, status: int, route: Route) -> WsgiAnswer:
        """An injected error answer. A 502 comes from Google's front end, not the API, so it is
        the front end's HTML page rather than an API error envelope."""
        if status == 502:
            return buffered(502, BAD_GATEWAY_PAGE, "text/html; charset=UTF-8")
        return self._error(injected_error(status, route.api), route)

    def _error(self, error: ApiError, route: Route) -> WsgiAnswer:
        return self._in_dialect(error, route.dialect)

    def _batch_error(self, error: ApiError, endpoint: batch.Endpoint) -> WsgiAnswer:
        return self._in_dialect(error, endpoint.dialect)

    def _in_dialect(self, error: ApiError, dialect: Dialect) -> WsgiAnswer:
        status_field = self.world.settings.storage_error_status_field
        return error_response(error, dialect, status_field=status_field)


def _in_endpoint(
    endpoint: batch.Endpoint, part: batch.Part, matched: tuple[Route, dict[str, str]] | None
) -> bool:
    """Whether a batch call is one of the endpoint's API: under its prefix, and not a path
    another API serves (APIs share `/v1/`)."""
    if not part.path.startswith(endpoint.prefix):
        return False
    return matched is None or matched[0].api == endpoint.api


def _header(response: WsgiAnswer, name: str) -> str:
    if isinstance(response, Answer):
        return next((v for k, v in response.headers if k.lower() == name.lower()), "")
    return str(response.headers.get(name, ""))


def _cut_short(request: Request) -> bool:
    """Whether the body ended before its declared Content-Length. The body is read (and kept
    for the handler) here, since the server hands a short read on as if it were the whole body."""
    declared = request.content_length
    if not declared:
        return False
    try:
        return len(request.get_data(cache=True)) < declared
    except ClientDisconnected:
        return True


def _raw_path(request: Request) -> str:
    """The percent-encoded path as sent (routes match it raw, see core/routing.py)."""
    raw_path = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or ""
    return str(raw_path).split("?", 1)[0] or request.path


def _overridden(request: Request) -> Request:
    if request.method == "POST" and request.headers.get("X-HTTP-Method-Override"):
        return _method_overridden(request)
    return request


def _method_overridden(request: Request) -> Request:
    """Honour `X-HTTP-Method-Override` as Google's front ends do: a discovery client sends a
    GET whose URL would be too long as a POST with the query string as a form body."""
    method = request.headers["X-HTTP-Method-Override"].upper()
    data = request.get_data()
    environ = dict(request.environ)
    environ["REQUEST_METHOD"] = method
    if method == "GET" and request.mimetype == "application/x-www-form-urlencoded":
        query = environ.get("QUERY_STRING", "")
        form = data.decode("latin-1")
        environ["QUERY_STRING"] = f"{query}&{form}" if query else form
        data = b""
    environ["wsgi.input"] = io.BytesIO(data)
    environ["CONTENT_LENGTH"] = str(len(data))
    return EmulatorRequest(environ)


def _consumer(world: World, params: dict[str, str], request: Request) -> str:
    """The consumer project a request is charged to: the project it names (path parameter
    `project`, or `?project=` as Storage's bucket insert has), else `x-goog-user-project`."""
    ref = params.get("project") or request.args.get("project")
    ref = ref or request.headers.get("x-goog-user-project") or "0"
    project = world.find_project(ref) if ref not in ("-", "0") else None
    return str(project["number"]) if project is not None else ref


def _to_response(result: Any) -> WsgiAnswer:
    if isinstance(result, Response):
        return result
    if isinstance(result, Reply):
        if isinstance(result.body, bytes):
            return buffered(result.status, result.body, result.content_type, result.headers)
        if result.body is None:
            return Response(status=result.status, headers=result.headers)
        return json_response(result.status, result.body, result.headers)
    return json_response(200, result)


_ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
_DEFAULT_ALLOWED_HEADERS = "Authorization, Content-Type, Accept"
_EXPOSED_HEADERS = "Content-Type, Content-Location"
_MAX_AGE = "3600"


def _with_cors(response: WsgiAnswer, request: Request) -> WsgiAnswer:
    """Let a browser viewer served from another origin call the emulator."""
    environ = request.environ
    values = (
        environ.get("HTTP_ORIGIN") or "*",
        _ALLOWED_METHODS,
        environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", _DEFAULT_ALLOWED_HEADERS),
        _EXPOSED_HEADERS,
        _MAX_AGE,
    )
    if isinstance(response, Answer):
        response.add_cors(zip(CORS_HEADERS, values, strict=True))
    else:
        for name, value in zip(CORS_HEADERS, values, strict=True):
            response.headers[name] = value
    return response


def _reset_connection(request: Request) -> None:
    """Drop the client's connection with a TCP reset (SO_LINGER 0, then close)."""
    sock = request.environ.get(CONNECTION_SOCKET)
    if not isinstance(sock, socket.socket):
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
