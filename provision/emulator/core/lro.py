"""Long-running operations: stored when started, reported done after the configured number of
polls and age (`lro_polls`; `lro_seconds`, or `lro_seconds_by_method` for the method that
started it). The work itself is committed when the operation starts; the operation only
controls when the caller is told.

Each record keeps, for measuring clients (`GET /_emulator/operations`): the method that started
it, when (`created`), how long it runs (`seconds`), its polls, and when the first poll that
answered it done arrived (`noticed`: the request's arrival, before its latency, so that
`noticed - created - seconds` is how long the client waited before asking again).
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Any, NamedTuple

from provision.emulator.core.settings import per_method
from provision.emulator.core.world import OPERATIONS, World


class RequestInfo(NamedTuple):
    method: str
    """`api.method_id`."""
    arrived: float
    """Epoch seconds."""


CURRENT_REQUEST: ContextVar[RequestInfo | None] = ContextVar("emulator_request", default=None)
"""The request being handled (set by the app around each handler)."""


def start(
    world: World,
    name: str,
    *,
    metadata: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
    done: bool = False,
) -> dict[str, Any]:
    """Record an operation; returns the body of the initial answer (`{"name": ...}`)."""
    current = CURRENT_REQUEST.get()
    method = current.method if current else ""
    settings = world.settings
    record = {
        "name": name,
        "metadata": metadata,
        "response": response,
        "error": error,
        "created": world.now(),
        "polls": 0,
        "forcedDone": done,
        "method": method,
        "seconds": per_method(settings.lro_seconds_by_method, method, settings.lro_seconds),
        "noticed": None,
    }
    world.store.put(OPERATIONS, name, record)
    return render(world, record) if done else {"name": name}


def poll(world: World, name: str) -> dict[str, Any] | None:
    """The operation as `operations.get` answers it (counts as one poll), or None if unknown."""
    record = world.store.get(OPERATIONS, name)
    if record is None:
        return None
    record["polls"] = int(record["polls"]) + 1
    if record.get("noticed") is None and is_done(world, record):
        current = CURRENT_REQUEST.get()
        since = time.time() - current.arrived if current else 0.0
        record["noticed"] = world.now() - since  # on the world's clock
    world.store.put(OPERATIONS, name, record)
    return render(world, record)


def peek(world: World, name: str) -> dict[str, Any] | None:
    """The operation without counting a poll (for list calls)."""
    record = world.store.get(OPERATIONS, name)
    return None if record is None else render(world, record)


def list_under(world: World, prefix: str) -> list[dict[str, Any]]:
    return [render(world, record) for record in world.store.values(OPERATIONS, prefix)]


def is_done(world: World, record: dict[str, Any]) -> bool:
    if record.get("forcedDone"):
        return True
    settings = world.settings
    seconds = float(record.get("seconds", settings.lro_seconds))
    old_enough = world.now() - float(record["created"]) >= seconds
    return old_enough and int(record["polls"]) >= settings.lro_polls


def timings(world: World) -> list[dict[str, Any]]:
    """Every operation's timing: name, method, created, seconds, polls, noticed (None until a
    poll answered it done), forcedDone."""
    keys = ("name", "method", "created", "seconds", "polls", "noticed", "forcedDone")
    return [{key: record.get(key) for key in keys} for record in world.store.values(OPERATIONS, "")]


def render(world: World, record: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"name": record["name"]}
    if record.get("metadata") is not None:
        body["metadata"] = record["metadata"]
    if is_done(world, record):
        body["done"] = True
        if record.get("error") is not None:
            body["error"] = record["error"]
        elif record.get("response") is not None:
            body["response"] = record["response"]
    return body
