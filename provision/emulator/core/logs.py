"""What Google writes to Cloud Logging instead of answering: errors of work a service does on
its own after a call succeeded (a Healthcare store's Pub/Sub notification that could not be
published, an instance that could not be streamed to BigQuery).

Entries are kept in the store (so they survive with `--state` and roll back with a failed
request) and shown by the control plane (`GET /_emulator/logs`), oldest first.
"""

from __future__ import annotations

from typing import Any

from provision.emulator.core.world import World

LOGS = "error_logs"
"""Collection: key a zero-padded sequence number -> one entry."""


def error(world: World, service: str, resource: str, message: str, **fields: str) -> None:
    """Log one ERROR entry of `service` about `resource` (a full resource name)."""
    number = world.store.next_value("error_log")
    entry = {
        "timestamp": world.now_rfc3339(),
        "severity": "ERROR",
        "service": service,
        "resource": resource,
        "message": message,
        **fields,
    }
    world.store.put(LOGS, f"{number:012d}", entry)


def entries(world: World) -> list[dict[str, Any]]:
    return world.store.values(LOGS)
