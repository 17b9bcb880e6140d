"""Cloud Resource Manager v3 through google-cloud-resource-manager's REST clients.

`GoogleApi.call` sends Resource Manager's methods here (`METHODS`: projects get / create /
patch / delete, their IAM policy, testIamPermissions on projects, folders and organizations,
operations.get): each discovery method id maps to the client method (of `ProjectsClient`,
`FoldersClient` or `OrganizationsClient`) that sends the same HTTP request (method, path and body as
cloudresourcemanager.v3.json declares them), its discovery parameters to that method's request
message (by their JSON names), and the answer back to the JSON the REST API answers (camelCase
names, 64-bit integers as strings, `@type` in `Any` payloads such as an operation's response).
The client's own retries are off (`retry=None`, one attempt within the HTTP timeout), so the
retry table stays the one retry layer; its errors become the same classified `GoogleApiError`s
as every other call's, parsed from the same error envelope.

Each client sends through its own `requests` session; a response hook on it writes the
`--debug` trace line and, with `PROVISION_RECORD`, the recording of each exchange.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from google.api_core import exceptions as core_exceptions
from google.api_core import gapic_v1
from google.api_core import operation as api_operation
from google.cloud import resourcemanager_v3
from google.cloud.resourcemanager_v3 import gapic_version
from google.iam.v1 import iam_policy_pb2
from google.longrunning import operations_pb2
from google.protobuf import json_format
from google.protobuf.message import Message

from provision.errors import GoogleApiError
from provision.gcp.errors import from_transport_error, parse_error_body
from provision.gcp.methods import FOLDERS, ORGANIZATIONS, PROJECTS, RESOURCE_MANAGER_OPERATIONS
from provision.gcp.recording import Recorder, redacted_url

JSON = dict[str, Any]

log = logging.getLogger("provision.gcp")

POOL_SIZE = 32
"""Connections kept per host: about the calls to Resource Manager a plan makes at once."""


@dataclass(frozen=True)
class Rpc:
    """How one discovery method is sent: the client method, its request message, and the
    request (as JSON) built from the discovery parameters."""

    client_method: str
    request: type[Message]
    build: Callable[[Mapping[str, Any]], JSON]
    client: str = "projects"
    """Which client sends it (`CLIENTS`)."""


CLIENTS: Mapping[str, Callable[..., Any]] = {
    "projects": resourcemanager_v3.ProjectsClient,
    "folders": resourcemanager_v3.FoldersClient,
    "organizations": resourcemanager_v3.OrganizationsClient,
}


def _by_name(params: Mapping[str, Any]) -> JSON:
    return {"name": params["name"]}


def _on_resource(params: Mapping[str, Any]) -> JSON:
    return {"resource": params["resource"], **(params.get("body") or {})}


def _patched(params: Mapping[str, Any]) -> JSON:
    request: JSON = {"project": {**(params.get("body") or {}), "name": params["name"]}}
    if params.get("updateMask"):
        request["updateMask"] = params["updateMask"]
    return request


METHODS: Mapping[str, Rpc] = {
    f"{PROJECTS}.get": Rpc("get_project", resourcemanager_v3.GetProjectRequest.pb(), _by_name),
    f"{PROJECTS}.create": Rpc(
        "create_project",
        resourcemanager_v3.CreateProjectRequest.pb(),
        lambda params: {"project": params.get("body") or {}},
    ),
    f"{PROJECTS}.patch": Rpc(
        "update_project", resourcemanager_v3.UpdateProjectRequest.pb(), _patched
    ),
    f"{PROJECTS}.delete": Rpc(
        "delete_project", resourcemanager_v3.DeleteProjectRequest.pb(), _by_name
    ),
    f"{PROJECTS}.getIamPolicy": Rpc(
        "get_iam_policy", iam_policy_pb2.GetIamPolicyRequest, _on_resource
    ),
    f"{PROJECTS}.setIamPolicy": Rpc(
        "set_iam_policy", iam_policy_pb2.SetIamPolicyRequest, _on_resource
    ),
    f"{PROJECTS}.testIamPermissions": Rpc(
        "test_iam_permissions", iam_policy_pb2.TestIamPermissionsRequest, _on_resource
    ),
    f"{FOLDERS}.testIamPermissions": Rpc(
        "test_iam_permissions", iam_policy_pb2.TestIamPermissionsRequest, _on_resource, "folders"
    ),
    f"{ORGANIZATIONS}.testIamPermissions": Rpc(
        "test_iam_permissions",
        iam_policy_pb2.TestIamPermissionsRequest,
        _on_resource,
        "organizations",
    ),
    f"{RESOURCE_MANAGER_OPERATIONS}.get": Rpc(
        "get_operation", operations_pb2.GetOperationRequest, _by_name
    ),
}
"""The Resource Manager methods the tool calls, by discovery method id."""
PARAMETERS: Mapping[str, frozenset[str]] = {
    f"{PROJECTS}.get": frozenset({"name"}),
    f"{PROJECTS}.create": frozenset({"body"}),
    f"{PROJECTS}.patch": frozenset({"name", "updateMask", "body"}),
    f"{PROJECTS}.delete": frozenset({"name"}),
    f"{PROJECTS}.getIamPolicy": frozenset({"resource", "body"}),
    f"{PROJECTS}.setIamPolicy": frozenset({"resource", "body"}),
    f"{PROJECTS}.testIamPermissions": frozenset({"resource", "body"}),
    f"{FOLDERS}.testIamPermissions": frozenset({"resource", "body"}),
    f"{ORGANIZATIONS}.testIamPermissions": frozenset({"resource", "body"}),
    f"{RESOURCE_MANAGER_OPERATIONS}.get": frozenset({"name"}),
}
"""The discovery parameters each method takes (`body`: the request body)."""


class ResourceManager:
    """Resource Manager's REST clients for one target, each built on first use; safe to share
    between threads."""

    def __init__(
        self,
        credentials: Any,
        *,
        endpoint: str | None,
        timeout: float,
        user_agent: str,
        recorder: Recorder | None = None,
    ) -> None:
        self._credentials = credentials
        self._endpoint = endpoint
        self._timeout = timeout
        self._user_agent = user_agent
        self._recorder = recorder
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _client(self, name: str) -> Any:
        with self._lock:
            client = self._clients.get(name)
            if client is None:
                client = self._clients[name] = self._build(CLIENTS[name])
            return client

    def _build(self, make: Callable[..., Any]) -> Any:
        """A client over REST whose `requests` session traces and records each exchange and
        keeps a connection per concurrent call (`POOL_SIZE`)."""
        options = {"api_endpoint": self._endpoint.rstrip("/")} if self._endpoint else None
        client = make(
            transport="rest",
            credentials=self._credentials,
            client_options=options,
            client_info=gapic_v1.client_info.ClientInfo(  # type: ignore[no-untyped-call]
                user_agent=self._user_agent, gapic_version=gapic_version.__version__
            ),
        )
        session: requests.Session = client.transport._session  # every request goes through it
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=POOL_SIZE, max_retries=0)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.headers["User-Agent"] = self._user_agent
        session.hooks["response"].append(self._exchanged)
        return client

    def call(self, method: str, params: Mapping[str, Any]) -> JSON:
        """Send `method` with its discovery `params`; the answer as REST JSON. Raises
        GoogleApiError for an error answer, an unreadable one, or no answer at all."""
        rpc = METHODS.get(method)
        if rpc is None:
            raise ValueError(f"{method} is not sent through the Resource Manager client")
        unknown = set(params) - PARAMETERS[method]
        if unknown:
            raise TypeError(f"{method} got unexpected parameters: {', '.join(sorted(unknown))}")
        request = json_format.ParseDict(rpc.build(params), rpc.request())
        send = getattr(self._client(rpc.client), rpc.client_method)
        exchange = self._recorder.one_at_a_time if self._recorder else contextlib.nullcontext()
        try:
            with exchange:  # the response hook records it, inside
                started = time.perf_counter()
                answer = send(request=request, retry=None, timeout=self._timeout)
        except core_exceptions.GoogleAPICallError as error:
            raise _answered_error(error, method) from None
        except json_format.ParseError as error:
            raise GoogleApiError(
                502, "UNAVAILABLE", f"unreadable answer: {error}", method=method
            ) from None
        except requests.RequestException as error:
            _trace_unanswered(error, started)
            raise _unanswered(error, method) from None
        return as_json(answer)

    def _exchanged(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """The session's response hook: trace line, recording."""
        request = response.request
        if log.isEnabledFor(logging.DEBUG):
            status = "ok" if response.status_code < 400 else str(response.status_code)
            elapsed = response.elapsed.total_seconds() * 1000.0
            what = redacted_url(f"{request.method} {_text(request.url)}")
            log.debug("%s -> %s (%.0f ms)", what, status, elapsed)
        if self._recorder is not None:
            answered = {name.lower(): _text(value) for name, value in response.headers.items()}
            self._recorder.record(
                str(request.method),
                _text(request.url),
                {name: _text(value) for name, value in request.headers.items()},
                request.body,
                {**answered, "status": response.status_code},
                response.content,
                reason=response.reason or "",
            )


def as_json(answer: Any) -> JSON:
    """A client answer (a proto-plus message, a protobuf message or an api_core Operation) as
    the REST API's JSON."""
    if isinstance(answer, api_operation.Operation):
        answer = answer.operation
    if not isinstance(answer, Message):
        answer = type(answer).pb(answer)
    found: JSON = json_format.MessageToDict(answer)
    return found


def _answered_error(error: core_exceptions.GoogleAPICallError, method: str) -> GoogleApiError:
    response = error.response
    if isinstance(response, requests.Response):
        return parse_error_body(
            response.status_code, response.content, method=method, http_reason=response.reason
        )
    return GoogleApiError(int(error.code or 500), "", str(error.message), method=method)


def _unanswered(error: requests.RequestException, method: str) -> GoogleApiError:
    url = _text(error.request.url) if error.request is not None else ""
    parts = urlsplit(url)
    where = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    return from_transport_error(root_cause(error), method=method, where=where)


def _trace_unanswered(error: requests.RequestException, started: float) -> None:
    if log.isEnabledFor(logging.DEBUG) and error.request is not None:
        log.debug(
            "%s -> no answer (%s) (%.0f ms)",
            redacted_url(f"{error.request.method} {_text(error.request.url)}"),
            type(root_cause(error)).__name__,
            (time.perf_counter() - started) * 1000.0,
        )


def _text(value: str | bytes | None) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value or ""


def root_cause(error: BaseException) -> BaseException:
    """The socket-level error under the layers requests and urllib3 wrap it in (a refused
    connection, a name that does not resolve, a reset), or `error` itself."""
    seen: set[int] = set()
    current: BaseException = error
    while id(current) not in seen:
        seen.add(id(current))
        inner = _wrapped(current)
        if inner is None:
            return current
        current = inner
    return current


def _wrapped(error: BaseException) -> BaseException | None:
    reason = getattr(error, "reason", None)  # urllib3's MaxRetryError
    if isinstance(reason, BaseException):
        return reason
    if error.args and isinstance(error.args[0], BaseException):  # requests' ConnectionError
        return error.args[0]
    if len(error.args) > 1 and isinstance(error.args[1], BaseException):  # ProtocolError
        return error.args[1]
    return error.__cause__ or error.__context__
