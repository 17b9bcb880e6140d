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
- `GET  /_emulator/health`           `{"ok": true}`
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
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request

from provision.emulator.core import logs
from provision.emulator.core.errors import ApiError
from provision.emulator.core.routing import WsgiAnswer, error_response, json_response
from provision.emulator.pubsub import models as pubsub

if TYPE_CHECKING:
    from provision.emulator.app import EmulatorApp


def handle(app: EmulatorApp, request: Request, path: str) -> WsgiAnswer:
    world = app.world
    action = path.removeprefix("/_emulator/").strip("/")
    try:
        body = _body(request)
        if action == "health":
            return json_response(200, {"ok": True})
        if action == "reset" and request.method == "POST":
            world.reset()
            if body:
                world.configure(body)
            app.faults.reseed(world.settings.seed)
            return json_response(200, {"ok": True})
        if action == "seed" and request.method == "POST":
            seed = int(body.get("seed", 0))
            world.configure({"seed": seed})
            world.ids.reseed(seed)
            app.faults.reseed(seed)
            return json_response(200, {"seed": seed})
        if action in ("settings", "faults"):
            if request.method == "POST":
                world.configure(body)
                if "seed" in body:
                    app.faults.reseed(world.settings.seed)
                elif "rules" in body:
                    app.faults.new_rules()
            return json_response(200, world.settings.to_json())
        if action == "projects" and request.method == "POST":
            from provision.emulator.seeding import seed_project

            with world.store.transaction():
                project = seed_project(world, body)
            return json_response(200, project)
        if action == "messages" and request.method == "GET":
            return json_response(200, pubsub.messages(world))
        if action == "logs" and request.method == "GET":
            return json_response(200, logs.entries(world))
        if action == "journal":
            if request.method == "DELETE":
                world.journal.clear()
                return json_response(200, {"ok": True})
            return json_response(200, world.journal.to_json())
    except ApiError as error:
        return error_response(error, "esf")
    except (ValueError, TypeError) as error:
        return json_response(400, {"error": {"code": 400, "message": str(error)}})
    return json_response(404, {"error": {"code": 404, "message": f"unknown control {path}"}})


def _body(request: Request) -> dict[str, Any]:
    data = request.get_data()
    if not data.strip():
        return {}
    value = json.loads(data)
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return value
