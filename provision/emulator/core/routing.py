"""Routes with Google's path templates, and what a handler receives and returns.

A template segment `{name}` matches one path segment (no `/`, no `:`), so custom verbs such as
`/v1/projects/{project}/services/{service}:enable` work; `{name=**}` matches the rest of the path.
Matching is done on the raw, percent-encoded path so Storage object names containing `%2F` stay
one segment; parameters are decoded before the handler sees them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request, Response

from provision.emulator.core.errors import ApiError, Dialect, invalid_argument
from provision.emulator.core.world import World


@dataclass(frozen=True)
class Reply:
    """A non-default answer: another status, raw bytes, or extra headers."""

    status: int = 200
    body: Any = None
    """A JSON-able value, or bytes sent as they are."""
    content_type: str = "application/json; charset=UTF-8"
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
        """The JSON object body; an empty body is `{}`; anything else is a 400."""
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
    pattern = ""
    position = 0
    for match in re.finditer(r"\{(\w+)(=\*\*)?\}", template):
        pattern += re.escape(template[position : match.start()])
        name, rest = match.group(1), match.group(2)
        pattern += f"(?P<{name}>.+)" if rest else f"(?P<{name}>[^/:]+)"
        position = match.end()
    pattern += re.escape(template[position:])
    return re.compile(f"^{pattern}$")


class Router:
    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = list(routes)

    def match(self, method: str, raw_path: str) -> tuple[Route, dict[str, str]] | None:
        """The route for this request; raises 405-style errors never (Google answers 404)."""
        for route in self.routes:
            if route.method != method:
                continue
            found = route.regex.match(raw_path)
            if found:
                params = {key: unquote(value) for key, value in found.groupdict().items()}
                return route, params
        return None


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer. Compact, unlike Google's indented bodies: clients parse it either way, and
    indenting forces the json module's pure-Python encoder (a fifth of the emulator's CPU)."""
    return Response(
        json.dumps(body, separators=(",", ":")) + "\n",
        status=status,
        headers=headers,
        content_type="application/json; charset=UTF-8",
    )


def error_response(error: ApiError, dialect: Dialect, *, status_field: bool = False) -> Response:
    body = error.envelope(dialect)
    if dialect == "storage" and status_field:
        body["error"]["status"] = error.status
    return json_response(error.http, body, error.headers)
