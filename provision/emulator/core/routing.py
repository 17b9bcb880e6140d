"""Routes with Google's path templates, and what a handler receives and returns.

A template segment `{name}` matches one path segment (no `/`, no `:`), so custom verbs such as
`/v1/projects/{project}/services/{service}:enable` work; `{name=**}` matches the rest of the path.
Matching is done on the raw, percent-encoded path so Storage object names containing `%2F` stay
one segment; parameters are decoded before the handler sees them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import unquote

from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.wrappers import Request, Response

from provision.emulator.core.errors import ApiError, Dialect, invalid_argument
from provision.emulator.core.world import World

JSON = "application/json; charset=UTF-8"
CANONICAL_BODY = "provision.emulator.canonical_body"
"""Environ key of a JSON body rewritten by the discovery gate with JSON field names."""


class QueryArgs(ImmutableMultiDict[str, str]):
    """A request's query (and form) parameters. `get` of a missing name answers its default
    straight away: werkzeug's raises and catches a BadRequestKeyError (an HTTPException, slow to
    build) for each one, and every call looks up names it was not sent (`fields`, `filter`,
    page tokens): a twentieth of the emulator's time in a batch of reads."""

    def get(self, key: str, default: Any = None, type: Any = None) -> Any:  # type: ignore[override]
        if key not in self:
            return default
        return super().get(key, default, type)


class EmulatorRequest(Request):
    """The emulator's requests: werkzeug's, with `QueryArgs` for their parameters."""

    parameter_storage_class = QueryArgs


@dataclass(frozen=True)
class Reply:
    """A non-default answer: another status, raw bytes, or extra headers."""

    status: int = 200
    body: Any = None
    """A JSON-able value, or bytes sent as they are."""
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Ctx:
    """One request as a handler sees it."""

    world: World
    request: Request
    params: dict[str, str]
    route: Route

    @property
    def query(self) -> MultiDict[str, str]:
        return self.request.args

    def json(self) -> dict[str, Any]:
        """The JSON object body (with JSON field names, as the discovery gate left it); an
        empty body is `{}`; anything else is a 400."""
        canonical = self.request.environ.get(CANONICAL_BODY)
        if isinstance(canonical, dict):
            return dict(canonical)
        data = self.request.get_data()
        if not data.strip():
            return {}
        try:
            value = json.loads(data)
        except ValueError:
            raise invalid_argument("Invalid JSON payload received.") from None
        if not isinstance(value, dict):
            raise invalid_argument("Invalid JSON payload received. Expected an object.")
        return value

    @property
    def numeric_enums(self) -> bool:
        """True when a GAPIC client asked for `$alt=json;enum-encoding=int`."""
        return "enum-encoding=int" in self.request.args.get("$alt", "")

    @property
    def base_url(self) -> str:
        return self.request.host_url.rstrip("/")


Handler = Callable[[Ctx], Any]


@dataclass(frozen=True)
class NotEmulated:
    """The handler of a method Google serves and the emulator does not: 501 naming the method
    (so a request is never answered by a neighbouring route's method). The coverage page does
    not count it as emulated."""

    method: str
    """The discovery method id, e.g. `storage.objects.getIamPolicy`."""

    def __call__(self, ctx: Ctx) -> Any:
        raise ApiError(
            "UNIMPLEMENTED",
            f"{self.method} is not emulated.",
            http=501,
            legacy_reason="notImplemented",
        )


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    api: str
    """Short API name, e.g. `cloudresourcemanager`, `healthcare`, `storage`."""
    method_id: str
    """Discovery method id without the API prefix, e.g. `projects.getIamPolicy`."""
    mutating: bool
    dialect: Dialect = "esf"
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", compile_template(self.template))


def compile_template(template: str) -> re.Pattern[str]:
    return re.compile(f"^{_template_pattern(template)}$")


def _template_pattern(template: str, prefix: str = "") -> str:
    """The regex of a template; parameter groups are named `prefix + name`."""
    pattern = ""
    position = 0
    for match in re.finditer(r"\{(\w+)(=\*\*)?\}", template):
        pattern += re.escape(template[position : match.start()])
        name, rest = match.group(1), match.group(2)
        pattern += f"(?P<{prefix}{name}>.+)" if rest else f"(?P<{prefix}{name}>[^/:]+)"
        position = match.end()
    pattern += re.escape(template[position:])
    return pattern


_Branch = tuple[Route, list[tuple[str, str]]]
"""A route and its parameters' (group name in the combined regex, parameter name)."""


class Router:
    """Finds the first route, in the order given, whose method and template match a request.

    The templates that could match are tried in a single regex (`^(?:(?P<r0>t0$)|...)`): an
    alternation tries its branches in order, each with all its backtracking, so the branch that
    matches is the first route whose own regex matches. Which could match is told by the path's
    `/` count: a `{name}` never spans a `/`, so a template without `{name=**}` matches only paths
    with as many `/` as it has, and one with it only paths with at least as many. One regex per
    (method, count) is built on first use.
    """

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = list(routes)
        self._by_method: dict[str, list[tuple[int, Route]]] = {}
        for index, route in enumerate(self.routes):
            self._by_method.setdefault(route.method, []).append((index, route))
        self._tables: dict[tuple[str, int], tuple[re.Pattern[str], dict[str, _Branch]] | None] = {}
        self._most_slashes = max((route.template.count("/") for route in self.routes), default=0)
        """Beyond this many `/`, the routes that can match are the same for any count."""

    def match(self, method: str, raw_path: str) -> tuple[Route, dict[str, str]] | None:
        """The route for this request; raises 405-style errors never (Google answers 404)."""
        if method not in self._by_method:
            return None
        key = (method, min(raw_path.count("/"), self._most_slashes + 1))
        table = self._tables[key] if key in self._tables else self._build(*key)
        if table is None:
            return None
        regex, found = table
        matched = regex.match(raw_path)
        if matched is None or matched.lastgroup is None:
            return None
        route, names = found[matched.lastgroup]
        return route, {name: unquote(matched.group(group)) for group, name in names}

    def _build(
        self, method: str, slashes: int
    ) -> tuple[re.Pattern[str], dict[str, _Branch]] | None:
        """The combined regex of `method`'s routes that can match a path with `slashes` `/`s
        (None: none can). Built concurrently at worst twice, alike."""
        branches = []
        found: dict[str, _Branch] = {}
        for index, route in self._by_method.get(method, ()):
            own = route.template.count("/")
            if own != slashes and not ("=**}" in route.template and slashes > own):
                continue
            branch = f"r{index}"
            prefix = f"{branch}_"
            branches.append(f"(?P<{branch}>{_template_pattern(route.template, prefix)}$)")
            found[branch] = (route, [(prefix + name, name) for name in route.regex.groupindex])
        table = (re.compile("^(?:" + "|".join(branches) + ")"), found) if branches else None
        self._tables[(method, slashes)] = table
        return table


CORS_HEADERS = (
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Methods",
    "Access-Control-Allow-Headers",
    "Access-Control-Expose-Headers",
    "Access-Control-Max-Age",
)

_SET_BY_RESPONSE = frozenset(
    {"content-type", "content-length", "location", "content-location"}
    | {name.lower() for name in CORS_HEADERS}
)
"""Headers that werkzeug's Response sets, rewrites or replaces itself; an answer carrying one of
them is left to werkzeug."""


class Answer:
    """A complete, buffered answer handed to WSGI's `start_response` as it is.

    It carries exactly the status line, headers (in order) and body that werkzeug's `Response`
    would send for the same body, status, headers and content type; `buffered()` builds one only
    where that holds and a `Response` otherwise. Streamed bodies stay werkzeug Responses.
    """

    __slots__ = ("body", "headers", "status", "status_code")

    def __init__(self, status_code: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status_code = status_code
        self.status = status_line(status_code)
        self.headers = headers
        self.body = body

    def add_cors(self, values: Iterable[tuple[str, str]]) -> None:
        """Append the CORS headers (`buffered()` guarantees none is present yet)."""
        self.headers.extend(values)

    def __call__(self, environ: Mapping[str, Any], start_response: Any) -> list[bytes]:
        start_response(self.status, self.headers)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [self.body]


WsgiAnswer = Answer | Response
"""What the app answers a request with."""


@cache
def status_line(status_code: int) -> str:
    """The status line werkzeug sends for a status code (e.g. `404 NOT FOUND`)."""
    return Response(status=status_code).status


def buffered(
    status: int,
    body: bytes,
    content_type: str,
    headers: Mapping[str, Any] | None = None,
) -> WsgiAnswer:
    """`Response(body, status=status, headers=headers, content_type=content_type)`, as an
    `Answer` where werkzeug would add or rewrite nothing beyond Content-Type and Content-Length
    (no 1xx/204/304 status, no Location or Content-Location, no header werkzeug sets itself)."""
    listed: list[tuple[str, str]] = []
    plain = status >= 200 and status not in (204, 304)
    if headers:
        for key, value in headers.items():
            text = value if isinstance(value, str) else str(value)
            if key.lower() in _SET_BY_RESPONSE or "\n" in text or "\r" in text:
                plain = False
                break
            listed.append((key, text))
    if not plain:
        return Response(body, status=status, headers=headers, content_type=content_type)
    listed.append(("Content-Type", content_type))
    listed.append(("Content-Length", str(len(body))))
    return Answer(status, listed, body)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> WsgiAnswer:
    """A JSON answer. Compact, unlike Google's indented bodies: clients parse it either way, and
    indenting forces the json module's pure-Python encoder (a fifth of the emulator's CPU)."""
    return buffered(
        status, (json.dumps(body, separators=(",", ":")) + "\n").encode(), JSON, headers
    )


def error_response(error: ApiError, dialect: Dialect, *, status_field: bool = False) -> WsgiAnswer:
    body = error.envelope(dialect)
    if dialect == "storage" and status_field:
        body["error"]["status"] = error.status
    return json_response(error.http, body, error.headers)
