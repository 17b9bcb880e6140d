"""The discovery gate: every API request is checked against Google's discovery document of its
API before any handler runs, and refused the way Google refuses it.

What is checked, per request (`docs/emulator-coverage.md` lists it too):

* the route is a method of the document, with its HTTP verb (routes that are not discovery
  methods, such as the OAuth token endpoint, are listed in `OUTSIDE_DISCOVERY`);
* a method that takes media (`supportsMediaUpload`, e.g. Cloud Storage `objects.insert`) is
  called only on one of its upload paths with an `uploadType` it offers; anything else is
  Cloud Storage's 400 `wrongUrlForUpload`;
* every query parameter is declared, by the method or as one of the document's system
  parameters (`alt`, `fields`, ...), and its value is of the declared type or enum;
* a JSON body is an object that reads as the method's request schema: no unknown field, every
  value of its field's type, every enum value one of the enum's names.

Refusals carry Google's texts where they are known (ESF's "Invalid JSON payload received.
Unknown name ..." with `google.rpc.BadRequest` field violations) and, for Cloud Storage, Storage's
own envelope. Methods whose body is raw bytes (`HttpBody`, i.e. DICOMweb) pass their query string
to the wrapped protocol, so only their declared parameters are checked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from werkzeug.wrappers import Request

from provision.emulator.core import multipart
from provision.emulator.core.discovery import Document, Method, document, version_of
from provision.emulator.core.errors import ApiError
from provision.emulator.core.routing import CANONICAL_BODY, NotEmulated, Route
from provision.emulator.core.shapes import INTEGER, UNSIGNED, Checker, Problem, snake

BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
WRONG_URL_FOR_UPLOAD = (
    "Upload requests must include an uploadType URL parameter and a URL path beginning with "
    "/upload/"
)
OUTSIDE_DISCOVERY: Mapping[tuple[str, str], str] = {
    ("oauth2", "token"): "the OAuth 2.0 token endpoint (RFC 6749), which has no discovery method",
}
"""Routes the gate lets through unchecked, with why no discovery method describes them."""
UPLOAD_TYPES: Mapping[str, frozenset[str]] = {
    "simple": frozenset({"media", "multipart"}),
    "resumable": frozenset({"resumable"}),
}
"""The `uploadType` values each discovery upload protocol stands for."""
SESSION_PARAMETERS = frozenset({"upload_id"})
"""Query parameters of an upload session (a resumable upload's later requests), which Google
adds to the session URI it hands out."""


QUERY_CHECKS_KEPT = 4096
"""Query checks remembered at most (then forgotten all at once)."""


class Gate:
    """Checks requests against the discovery documents of the routes' APIs."""

    def __init__(self, routes: list[Route]) -> None:
        self._described = {id(route): described(route) for route in routes}
        self._query_checks: dict[tuple[Any, ...], tuple[tuple[str, str], ...]] = {}
        """(route, raw query string, flags) -> its query problems: a pure function of these,
        and most requests of a run repeat a few query strings (`alt=json`, a page size)."""

    def described(self, route: Route) -> tuple[Document, Method] | None:
        """The document and discovery method `route` serves (None outside discovery)."""
        key = id(route)
        if key not in self._described:
            self._described[key] = described(route)
        return self._described[key]

    def check(
        self, route: Route, request: Request, *, storage_unknown_names: str = "refuse"
    ) -> ApiError | None:
        """The error Google would answer `request` with before running it, or None.
        `storage_unknown_names`: `refuse` or `ignore` Cloud Storage parameters and fields its
        document does not declare (what Google does there is not recorded)."""
        found = self.described(route)
        if found is None:
            return None
        doc, method = found
        storage = route.dialect == "storage"
        lenient = storage and storage_unknown_names == "ignore"
        on_upload_path = route.template.startswith(("/upload/", "/resumable/"))
        if method.upload_paths and not _media_call(request, method, on_upload_path):
            return _storage_error(WRONG_URL_FOR_UPLOAD, "wrongUrlForUpload")
        key = (id(route), request.query_string, storage, on_upload_path, lenient)
        problems = self._query_checks.get(key)
        if problems is None:
            problems = tuple(
                _query_problems(request, doc, method, storage, on_upload_path, lenient)
            )
            if len(self._query_checks) >= QUERY_CHECKS_KEPT:
                self._query_checks.clear()
            self._query_checks[key] = problems
        if problems:
            return _refusal(problems, storage)
        if method.request is None or method.passthrough:
            return None
        body = _json_body(request, on_upload_path)
        if body is None:
            return None
        checker = Checker(
            doc.schemas, reading="request", proto_names=not storage, unknown_fields=not lenient
        )
        root = "" if method.request.endswith("Request") else snake(method.request)
        found_problems = _unbound(checker.check(body, method.request, root), method, root)
        if found_problems:
            return _refusal([_body_message(problem) for problem in found_problems], storage)
        if not storage and b"_" in request.get_data(cache=True):
            request.environ[CANONICAL_BODY] = checker.canonical(body, method.request)
        return None


def unserved_routes(routes: list[Route]) -> list[Route]:
    """For every API version the routes serve, a route per discovery method they do not serve,
    answering 501 naming it: a request for a real method the emulator lacks is never answered as
    if the path did not exist (a 404 a client would take for "absent")."""
    served = {(r.api, version_of(r.template), r.method_id) for r in routes}
    apis = {(r.api, version_of(r.template), r.dialect) for r in routes}
    extra: list[Route] = []
    for api, version, dialect in sorted(apis, key=str):
        doc = document(api, version) if version else None
        for method in doc.methods.values() if doc else ():
            method_id = method.id.removeprefix(f"{api}.")
            if (api, version, method_id) in served:
                continue
            for template in (method.path, *method.upload_paths):
                extra.append(
                    Route(
                        method.http_method,
                        _emulator_template(template),
                        NotEmulated(method.id),
                        api,
                        method_id,
                        method.http_method != "GET",
                        dialect,
                    )
                )
    return extra


def _emulator_template(template: str) -> str:
    """A discovery path template in the router's syntax (`{+name}` -> `{name=**}`)."""
    return re.sub(r"\{\+([^}]+)\}", r"{\1=**}", template)


def described(route: Route) -> tuple[Document, Method] | None:
    """The discovery document and method of an emulator route, or None when it has none."""
    version = version_of(route.template)
    doc = document(route.api, version) if version else None
    method = doc.methods.get(f"{route.api}.{route.method_id}") if doc else None
    return (doc, method) if doc is not None and method is not None else None


def _unbound(problems: list[Problem], method: Method, root: str) -> list[Problem]:
    """`problems` without top-level fields that repeat a path parameter of a method whose body
    is the whole request message (`root` ""): Google binds path parameters into that message,
    so a body may name them too (golden kms: `cryptoKeyVersions.destroy` with `{"name"}`)."""
    if root:
        return problems
    bound = {name for name, spec in method.parameters.items() if spec.get("location") == "path"}
    return [p for p in problems if not (p.kind == "unknown" and not p.path and p.name in bound)]


def _media_call(request: Request, method: Method, on_upload_path: bool) -> bool:
    """Whether a call of a media method came the way Google takes media: on an upload path,
    with an `uploadType` of one of the method's protocols (or as a resumable session's
    later request, which carries the session's `upload_id`)."""
    if not on_upload_path:
        return False
    if request.method != method.http_method:
        return "upload_id" in request.args
    offered = set().union(*(UPLOAD_TYPES.get(p, frozenset()) for p in method.upload_protocols))
    return request.args.get("uploadType", "") in offered


def _query_problems(
    request: Request,
    doc: Document,
    method: Method,
    storage: bool,
    on_upload_path: bool,
    lenient: bool,
) -> list[tuple[str, str]]:
    """(message, field) per missing, undeclared or invalid query parameter."""
    problems: list[tuple[str, str]] = [
        (f"Required parameter: {name}", name)
        for name, schema in method.parameters.items()
        if schema.get("location") == "query" and schema.get("required") and name not in request.args
    ]
    for name in request.args:
        bare = name.removeprefix("$")
        schema = _parameter(doc, method, name)
        if schema is None and on_upload_path and name in SESSION_PARAMETERS:
            continue
        if schema is None and (method.passthrough or lenient):
            continue
        if schema is None:
            problems.append(_unknown_parameter(name, storage))
            continue
        for value in request.args.getlist(name):
            if not _valid_parameter(value, schema, bare):
                problems.append(_invalid_parameter(bare, value, schema, storage))
    return problems


def _parameter(doc: Document, method: Method, name: str) -> Mapping[str, Any] | None:
    declared = method.parameters.get(name)
    if declared is not None and declared.get("location") == "query":
        return declared
    return doc.global_parameters.get(name.removeprefix("$"))


def _valid_parameter(value: str, schema: Mapping[str, Any], name: str) -> bool:
    kind = schema.get("type", "string")
    if name == "alt":
        value = value.split(";", 1)[0]  # `$alt=json;enum-encoding=int` (GAPIC REST clients)
    if kind == "boolean":
        return value.lower() in ("true", "false")
    if kind == "integer":
        if not INTEGER.match(value):
            return False
        number = int(value)
        low, high = schema.get("minimum"), schema.get("maximum")
        return (low is None or number >= int(low)) and (high is None or number <= int(high))
    if schema.get("format") in ("int64", "uint64"):
        return bool((UNSIGNED if schema["format"] == "uint64" else INTEGER).match(value))
    enum = schema.get("enum")
    return enum is None or value in enum


def _unknown_parameter(name: str, storage: bool) -> tuple[str, str]:
    if storage:
        # Cloud Storage's text for an undeclared parameter is not recorded anywhere we know of;
        # a plain message in Storage's envelope stands in for it.
        return f"Invalid argument: unknown parameter '{name}'.", ""
    return (
        f'Invalid JSON payload received. Unknown name "{name}": Cannot bind query parameter. '
        f"Field '{name}' could not be found in request message.",
        "",
    )


def _invalid_parameter(
    name: str, value: str, schema: Mapping[str, Any], storage: bool
) -> tuple[str, str]:
    if storage:
        return f"Invalid value for {name}: {value}", name
    field = snake(name)
    return f"Invalid value at '{field}' ({_proto_type(schema)}), \"{value}\"", field


def _proto_type(schema: Mapping[str, Any]) -> str:
    """The proto type name Google's parse errors show for a parameter's schema."""
    kind, fmt = schema.get("type", "string"), str(schema.get("format", ""))
    if "enum" in schema:
        return "TYPE_ENUM"
    if kind == "boolean":
        return "TYPE_BOOL"
    if kind == "integer" or fmt in ("int64", "uint64"):
        return f"TYPE_{(fmt or 'int32').upper()}"
    return "TYPE_STRING"


def _json_body(request: Request, on_upload_path: bool) -> Any:
    """The JSON body to check, or None (no body, not JSON, or media on an upload path; a
    malformed JSON body is the handler's to refuse, with its parse error). A multipart upload's
    metadata is its first part."""
    data = request.get_data(cache=True)
    if on_upload_path:
        upload_type = request.args.get("uploadType")
        if upload_type == "multipart":
            try:
                parts = multipart.parse(data, request.headers.get("Content-Type", ""))
            except ApiError:
                return None
            data = parts[0][1] if parts else b""
        elif upload_type != "resumable":
            return None
    if not data.strip():
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None


def _body_message(problem: Problem) -> tuple[str, str]:
    at = f" at '{problem.proto_path}'" if problem.proto_path else ""
    if problem.kind == "unknown":
        name = problem.name
        text = f'Invalid JSON payload received. Unknown name "{name}"{at}: Cannot find field.'
        return text, problem.proto_path
    if problem.kind == "depth":
        return f"Invalid JSON payload received. Nesting too deep{at}.", problem.proto_path
    # For an enum Google names the enum's proto type URL here, which discovery does not give.
    expected = "TYPE_ENUM" if problem.kind == "enum" else problem.expected
    where = problem.proto_path or "root"
    return f"Invalid value at '{where}' ({expected}), {problem.name}", problem.proto_path


def _refusal(problems: Sequence[tuple[str, str]], storage: bool) -> ApiError:
    message = "\n".join(text for text, _ in problems)
    if storage:
        return _storage_error(message, "invalid")
    violations = [
        {"field": field, "description": text} if field else {"description": text}
        for text, field in problems
    ]
    return ApiError(
        "INVALID_ARGUMENT",
        message,
        details=[{"@type": BAD_REQUEST, "fieldViolations": violations}],
    )


def _storage_error(message: str, reason: str) -> ApiError:
    return ApiError("INVALID_ARGUMENT", message, http=400, legacy_reason=reason)
