"""The control plane under `/_emulator/`: reset, seed, settings and faults, journal.

- `POST /_emulator/reset`            forget all state and the journal; default settings
                                     (a JSON body of settings is applied after the reset)
- `POST /_emulator/seed`             `{"seed": N}`: reseed ids, etags and fault dice
- `GET  /_emulator/settings`         current settings
- `POST /_emulator/settings`         change settings (`{"latency_ms": 50, ...}`)
- `POST /_emulator/faults`           `{"rules": [...], "error_rate": R, ...}` (same as settings;
                                     new `rules` count their `times` from zero)
- `GET  /_emulator/journal`          JSON array of requests (method, path, status, api, ...)
- `DELETE /_emulator/journal`        clear the journal
- `GET  /_emulator/operations`       every long-running operation's timing: name, method that
                                     started it, created, seconds it runs, polls, noticed (when
                                     the first poll answering it done arrived; epoch seconds)
- `GET  /_emulator/health`           `{"ok": true}`
- `GET  /_emulator/state`            every stored document, by collection then key
- `GET  /_emulator/messages`         Pub/Sub messages published, by topic name, oldest first
- `GET  /_emulator/logs`             what Google would log to Cloud Logging as errors (e.g. a
                                     store notification that could not be published)
- `POST /_emulator/projects`         seed a ready project: `{"projectId", "billingAccountName"?,
                                     "services"?: [...], "displayName"?, "parent"?, "labels"?}`
                                     -> the Project (billing linked, services enabled and
                                     propagated, service agents present with their roles)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request

from provision.emulator.core import logs, lro
from provision.emulator.core.errors import ApiError
from provision.emulator.core.faults import Faults
from provision.emulator.core.routing import WsgiAnswer, error_response, json_response
from provision.emulator.core.world import World
from provision.emulator.pubsub import models as pubsub


def handle(world: World, faults: Faults, request: Request, path: str) -> WsgiAnswer:
    """Answer the control request at `path`: it acts on `world` and on the fault dice."""
    action = path.removeprefix("/_emulator/").strip("/")
    handler = _HANDLERS.get((request.method, action)) or _HANDLERS.get(("*", action))
    if handler is None:
        return json_response(404, {"error": {"code": 404, "message": f"unknown control {path}"}})
    try:
        return handler(world, faults, request.method, _body(request))
    except ApiError as error:
        return error_response(error, "esf")
    except (ValueError, TypeError) as error:
        return json_response(400, {"error": {"code": 400, "message": str(error)}})


Handler = Callable[[World, Faults, str, dict[str, Any]], WsgiAnswer]


def _health(world: World, faults: Faults, method: str, body: dict[str, Any]) -> WsgiAnswer:
    return json_response(200, {"ok": True})


def _reset(world: World, faults: Faults, method: str, body: dict[str, Any]) -> WsgiAnswer:
    world.reset()
    if body:
        world.configure(body)
    faults.reseed(world.settings.seed)
    return json_response(200, {"ok": True})


def _seed(world: World, faults: Faults, method: str, body: dict[str, Any]) -> WsgiAnswer:
    seed = int(body.get("seed", 0))
    world.configure({"seed": seed})
    world.ids.reseed(seed)
    faults.reseed(seed)
    return json_response(200, {"seed": seed})


def _settings(world: World, faults: Faults, method: str, body: dict[str, Any]) -> WsgiAnswer:
    if method == "POST":
        world.configure(body)
        if "seed" in body:
            faults.reseed(world.settings.seed)
        elif "rules" in body:
            faults.new_rules()
    return json_response(200, world.settings.to_json())


def _projects(world: World, faults: Faults, method: str, body: dict[str, Any]) -> WsgiAnswer:
    from provision.emulator.seeding import seed_project

    with world.store.transaction():
        project = seed_project(world, body)
    return json_response(200, project)


def _journal(world: World, faults: Faults, method: str, body: dict[str, Any]) -> WsgiAnswer:
    if method == "DELETE":
        world.journal.clear()
        return json_response(200, {"ok": True})
    return json_response(200, world.journal.to_json())


def _operations(world: World, faults: Faults, method: str, body: dict[str, Any]) -> WsgiAnswer:
    return json_response(200, lro.timings(world))


def _messages(world: World, faults: Faults, method: str, body: dict[str, Any]) -> WsgiAnswer:
    return json_response(200, pubsub.messages(world))


def _state(world: World, faults: Faults, method: str, body: dict[str, Any]) -> WsgiAnswer:
    return json_response(200, world.store.documents())


def _logs(world: World, faults: Faults, method: str, body: dict[str, Any]) -> WsgiAnswer:
    return json_response(200, logs.entries(world))


_HANDLERS: dict[tuple[str, str], Handler] = {
    ("*", "health"): _health,
    ("POST", "reset"): _reset,
    ("POST", "seed"): _seed,
    ("*", "settings"): _settings,
    ("*", "faults"): _settings,
    ("POST", "projects"): _projects,
    ("*", "journal"): _journal,
    ("GET", "operations"): _operations,
    ("GET", "messages"): _messages,
    ("GET", "logs"): _logs,
    ("GET", "state"): _state,
}
"""(HTTP method, or `*` for any, and action) -> handler."""


def _body(request: Request) -> dict[str, Any]:
    data = request.get_data()
    if not data.strip():
        return {}
    value = json.loads(data)
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return value
