"""Long-running operations: stored when started, reported done after the configured number of
polls and age (`lro_polls`, `lro_seconds`). The work itself is committed when the operation
starts; the operation only controls when the caller is told.
"""

from __future__ import annotations

from typing import Any

from provision.emulator.core.world import OPERATIONS, World


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
    record = {
        "name": name,
        "metadata": metadata,
        "response": response,
        "error": error,
        "created": world.now(),
        "polls": 0,
        "forcedDone": done,
    }
    world.store.put(OPERATIONS, name, record)
    return render(world, record) if done else {"name": name}


def poll(world: World, name: str) -> dict[str, Any] | None:
    """The operation as `operations.get` answers it (counts as one poll), or None if unknown."""
    record = world.store.get(OPERATIONS, name)
    if record is None:
        return None
    record["polls"] = int(record["polls"]) + 1
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
    old_enough = world.now() - float(record["created"]) >= settings.lro_seconds
    return old_enough and int(record["polls"]) >= settings.lro_polls


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
