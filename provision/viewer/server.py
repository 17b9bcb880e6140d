"""Serve an OHIF build folder with a generated `app-config.js` on loopback.

As OHIF's own development server does (`yarn run dev`): every GET that names no file of the
build answers `index.html` (the viewer routes in the browser), and every answer carries
`Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp`, so
the page is cross-origin isolated (SharedArrayBuffer, which OHIF's volume viewports use).
DICOMweb requests go from the browser straight to the data source, which must allow CORS.
"""

from __future__ import annotations

import mimetypes
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cheroot import wsgi
from werkzeug.security import safe_join
from werkzeug.wrappers import Request, Response

from provision.errors import ProvisionError

CONFIG_PATH = "/app-config.js"
ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
}
CONTENT_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".wasm": "application/wasm",
    ".json": "application/json",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
    ".woff2": "font/woff2",
}
"""Types the browser insists on (scripts, modules, WebAssembly); others come from `mimetypes`."""
THREADS = 16

WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


class ViewerServeError(ProvisionError):
    """The viewer cannot be served (e.g. the port is taken)."""


class ViewerApp:
    """WSGI app: `config` at `/app-config.js`, the files of `build`, else `index.html`."""

    def __init__(self, build: Path, config: str) -> None:
        self.build = build
        self.config = config.encode("utf-8")

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        response = self.respond(request)
        response.headers.update(ISOLATION_HEADERS)
        return response(environ, start_response)

    def respond(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return Response("method not allowed\n", status=405, headers={"Allow": "GET, HEAD"})
        if request.path == CONFIG_PATH:
            return Response(
                self.config,
                content_type="text/javascript; charset=utf-8",
                headers={"Cache-Control": "no-store"},
            )
        found = safe_join(str(self.build), request.path.lstrip("/"))
        path = Path(found) if found is not None else None
        if path is None or not path.is_file():
            path = self.build / "index.html"
        return Response(
            path.read_bytes(),
            content_type=content_type(path),
            headers={"Cache-Control": "no-cache"},
        )


def content_type(path: Path) -> str:
    """The Content-Type of a build file."""
    known = CONTENT_TYPES.get(path.suffix.lower())
    if known is None:
        known = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if known.startswith("text/") or known in ("application/json", "image/svg+xml"):
        return f"{known}; charset=utf-8"
    return known


@dataclass
class RunningViewer:
    """A listening viewer server; `url` uses `localhost`, the origin OAuth clients list."""

    url: str
    port: int
    server: wsgi.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.stop()
        self.thread.join(timeout=5)


def start(app: WsgiApp, port: int, host: str = "127.0.0.1") -> RunningViewer:
    """Serve `app` (a `ViewerApp`) on a daemon thread at `host:port` (0 picks a free port);
    returns once listening."""
    server = wsgi.Server((host, port), app, numthreads=THREADS)
    failure: list[BaseException] = []

    def prepare() -> None:  # workers started from a daemon thread are daemons too
        try:
            server.prepare()
        except BaseException as error:
            failure.append(error)

    preparing = threading.Thread(target=prepare, name="provision-viewer-prepare", daemon=True)
    preparing.start()
    preparing.join()
    if failure:
        error = failure[0]
        reason = getattr(error, "strerror", None) or str(error)
        raise ViewerServeError(f"cannot listen on {host}:{port}: {reason}; pick another --port")
    bound = int(server.bind_addr[1])
    thread = threading.Thread(target=server.serve, name="provision-viewer", daemon=True)
    thread.start()
    return RunningViewer(f"http://localhost:{bound}", bound, server, thread)
