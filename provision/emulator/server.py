"""Start the emulator: in the foreground (`provision emulator serve`) or on a background thread
(tests, and `--emulator` on the tool's commands).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from werkzeug.serving import BaseWSGIServer, make_server

from provision.emulator.app import EmulatorApp
from provision.emulator.core.ids import Ids
from provision.emulator.core.settings import EmulatorSettings
from provision.emulator.core.store import Store
from provision.emulator.core.world import World


@dataclass
class RunningEmulator:
    base_url: str
    world: World
    server: BaseWSGIServer
    thread: threading.Thread | None = None

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self.thread is not None:
            self.thread.join(timeout=5)
        self.world.store.close()


def build(
    state_path: Path | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    settings: EmulatorSettings | None = None,
    log_requests: bool = False,
) -> RunningEmulator:
    """Create the world and a bound (not yet serving) server."""
    settings = settings or EmulatorSettings()
    store = Store(state_path)
    # A state file outlives this process: continue its id sequence instead of repeating it.
    generation = store.next_value("server-starts") if state_path is not None else 1
    seed = settings.seed if generation == 1 else settings.seed * 1_000_003 + generation
    world = World(store=store, settings=settings, ids=Ids(seed))
    app = EmulatorApp(world, log_requests=log_requests)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server(host, port, app, threaded=True)
    bound_host, bound_port = str(server.server_address[0]), int(server.server_address[1])
    display_host = f"[{bound_host}]" if ":" in bound_host else bound_host
    return RunningEmulator(f"http://{display_host}:{bound_port}", world, server)


def start_background(
    state_path: Path | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    settings: EmulatorSettings | None = None,
) -> RunningEmulator:
    """Serve on a daemon thread; returns once the socket is listening."""
    running = build(state_path, host=host, port=port, settings=settings)
    thread = threading.Thread(
        target=running.server.serve_forever, name="provision-emulator", daemon=True
    )
    thread.start()
    running.thread = thread
    return running
