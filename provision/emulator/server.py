"""Start the emulator: in the foreground (`provision emulator serve`) or on a background thread
(tests, and `--emulator` on the tool's commands).

Both serve the WSGI app with cheroot: HTTP/1.1 connections stay open between requests (a client
pays one TCP connect per connection, not per request) and a fixed pool of worker threads answers
them (no thread start per request).
"""

from __future__ import annotations

import gc
import io
import logging
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cheroot import errors as cheroot_errors
from cheroot import makefile, wsgi
from cheroot.server import HTTPConnection

from provision.emulator.app import CONNECTION_SOCKET, EmulatorApp
from provision.emulator.core.ids import Ids
from provision.emulator.core.settings import EmulatorSettings, from_command_line
from provision.emulator.core.store import Store
from provision.emulator.core.world import World

WORKER_THREADS = 256
"""Requests served at once. The app sleeps the injected latency (e.g. 50 ms) on its worker, so
the pool must exceed the clients' concurrency or requests queue behind each other and latency
adds up: the planner and apply run up to 64-128 requests at once, the benchmark more. Idle
threads cost no CPU; kept-alive connections wait in cheroot's selector, not on a worker."""

LISTEN_BACKLOG = 1024
"""Connections the kernel queues before accept (a burst of new clients is never refused)."""

KEEP_ALIVE_LIMIT = 1024
"""Idle kept-alive connections held open (cheroot's default of 10 would make every further
client reconnect for each request). The tool keeps up to one connection per request in flight."""

IDLE_TIMEOUT_S = 300
"""A kept-alive connection idle this long is closed; also the read timeout of a connection."""

SHUTDOWN_S = 2
"""`stop()` waits this long for requests in flight, then cuts their connections."""

COLLECTOR_THRESHOLDS = (20_000, 20, 20)
"""The cyclic collector's thresholds in `provision emulator serve` (CPython's: 700, 10, 10);
the tool's runs use the same (`provision.collector`, which the emulator, standing apart, does
not import)."""

SELECT_INTERVAL_S = 0.05
"""How often the connection loop wakes without traffic; bounds how long `stop()` waits for it."""

log = logging.getLogger("provision.emulator.server")


class _Gateway(wsgi.Gateway_10):
    """WSGI 1.0, plus what a kept-alive connection and the fault injector need.

    - The environ carries the connection's socket under `CONNECTION_SOCKET`, so an injected
      fault can reset the connection.
    - A chunked request body the app left unread is consumed before the response starts, so the
      next request on the connection starts at a request line.
    """

    def respond(self) -> None:
        self.env[CONNECTION_SOCKET] = self.req.conn.socket
        super().respond()

    def start_response(self, status: str, headers: Any, exc_info: Any = None) -> Any:
        _finish_chunked_body(self.req)
        return super().start_response(status, headers, exc_info)

    def write(self, chunk: bytes) -> None:
        """Write a piece of the body; the first one leaves with the headers in one send."""
        wfile = self.req.conn.wfile
        if self.req.sent_headers or not isinstance(wfile, _Writer):
            super().write(chunk)
            return
        wfile.hold()
        try:
            super().write(chunk)
        finally:
            wfile.release()


def _finish_chunked_body(req: Any) -> None:
    """Read a chunked request body to its end (trailers included); a body that cannot be read
    (the connection was reset, or it is malformed) closes the connection after this response."""
    if not req.chunked_read:
        return
    try:
        while req.rfile.read(65536):
            pass
        for _ in req.rfile.read_trailer_lines():
            pass
    except (OSError, ValueError):
        req.close_connection = True


class _Reader(makefile.StreamReader):
    """cheroot's socket reader, with a `readline` that slices lines out of its buffer. The
    inherited one (pure-Python `io`) peeks and copies the rest of the buffer for every line,
    which made reading a request's headers a large share of the time per request. Lines, limits
    and the byte count are the inherited reader's."""

    # The pure-Python `io.BufferedReader` state the stubs do not declare.
    _read_lock: threading.Lock
    _read_buf: bytes
    _read_pos: int
    buffer_size: int
    raw: Any

    def readline(self, size: int | None = -1) -> bytes:
        limit = -1 if size is None else size
        with self._read_lock:
            while True:
                buffer, position = self._read_buf, self._read_pos
                end = buffer.find(b"\n", position) + 1
                length = end - position if end else len(buffer) - position
                if limit >= 0 and length >= limit:
                    length = limit
                elif not end:
                    chunk = self.raw.read(self.buffer_size)
                    if chunk:
                        self._read_buf, self._read_pos = buffer[position:] + chunk, 0
                        continue
                self._read_pos = position + length
                self.bytes_read += length
                return bytes(buffer[position : position + length])


class _Writer(makefile.StreamWriter):
    """cheroot's socket writer; between `hold()` and `release()` writes are collected and then
    sent together, so a response's headers and body leave in one send."""

    def __init__(self, sock: Any, mode: str = "w", bufsize: int = io.DEFAULT_BUFFER_SIZE) -> None:
        super().__init__(sock, mode, bufsize)
        self._held: list[bytes] | None = None

    def hold(self) -> None:
        self._held = []

    def release(self) -> None:
        held, self._held = self._held, None
        if held:
            super().write(b"".join(held))  # type: ignore[no-untyped-call]

    def write(self, b: Any) -> Any:
        if self._held is None:
            return super().write(b)  # type: ignore[no-untyped-call]
        self._held.append(bytes(b))
        return len(b)


def _make_file(sock: Any, mode: str = "r", bufsize: int = io.DEFAULT_BUFFER_SIZE) -> Any:
    """cheroot's `MakeFile`, with the faster reader and the writer that can hold."""
    if "r" in mode:
        return _Reader(sock, mode, bufsize)
    return _Writer(sock, mode, bufsize)


class _Connection(HTTPConnection):
    """A cheroot connection that reads through `_Reader` (the emulator serves plain HTTP only)."""

    def __init__(self, server: Any, sock: Any, makefile: Any = None) -> None:
        super().__init__(server, sock, _make_file)


class EmulatorServer(wsgi.Server):
    """cheroot's WSGI server with the emulator's pool, keep-alive limits and logging."""

    keep_alive_conn_limit = KEEP_ALIVE_LIMIT
    ConnectionClass = _Connection
    expiration_interval = SELECT_INTERVAL_S

    def __init__(self, host: str, port: int, app: EmulatorApp) -> None:
        super().__init__(
            (host, port),
            app,
            numthreads=WORKER_THREADS,
            max=WORKER_THREADS,
            request_queue_size=LISTEN_BACKLOG,
            timeout=IDLE_TIMEOUT_S,
            shutdown_timeout=SHUTDOWN_S,
        )
        self.gateway = _Gateway

    def error_log(self, msg: str = "", level: int = 20, traceback: bool = False) -> None:
        """Cheroot's messages: notices (below WARNING) and client disconnects are dropped;
        anything else, such as an exception escaping the app, is logged with its traceback."""
        if level < logging.WARNING:
            return
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError) or (
            isinstance(error, OSError) and error.errno in cheroot_errors.socket_errors_to_ignore
        ):
            return
        log.log(level, "%s", msg, exc_info=traceback)

    @property
    def bound(self) -> tuple[str, int]:
        """The (host, port) listened on; the real port when 0 was asked for."""
        host, port = self.bind_addr[:2]
        return str(host), int(port)


@dataclass
class RunningEmulator:
    base_url: str
    world: World
    server: EmulatorServer
    thread: threading.Thread | None = None

    def serve_forever(self) -> None:
        """Serve on the calling thread until `stop()` or KeyboardInterrupt."""
        self.server.serve()

    def stop(self) -> None:
        """Stop listening, close kept-alive connections, end every worker thread (requests in
        flight get `SHUTDOWN_S`), then close the store. Safe to call twice."""
        self.server.stop()
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
    """Create the world and a listening server whose workers are running; nothing is served
    until `serve_forever()` (or `start_background`). Raises OSError when it cannot listen."""
    settings = settings or EmulatorSettings()
    store = Store(state_path)
    # A state file outlives this process: continue its id sequence instead of repeating it.
    generation = store.next_value("server-starts") if state_path is not None else 1
    seed = settings.seed if generation == 1 else settings.seed * 1_000_003 + generation
    world = World(store=store, settings=settings, ids=Ids(seed))
    app = EmulatorApp(world, log_requests=log_requests)
    server = EmulatorServer(host, port, app)
    try:
        _prepare_on_daemon_thread(server)
    except BaseException:
        store.close()
        raise
    bound_host, bound_port = server.bound
    display_host = f"[{bound_host}]" if ":" in bound_host else bound_host
    return RunningEmulator(f"http://{display_host}:{bound_port}", world, server)


def serve_in_foreground(
    state_path: Path | None,
    address: tuple[str, int],
    options: dict[str, Any],
    assignments: list[str],
    *,
    log_requests: bool,
) -> None:
    """`provision emulator serve`: build the emulator at `address` (host, port) with the settings
    of `from_command_line(options, assignments)`, say on stderr where it listens, serve until
    Ctrl-C (then say so) and stop. ValueError naming a bad setting, or the address when it cannot
    listen there."""
    settings = from_command_line(options, assignments)
    host, port = address
    try:
        running = build(
            state_path, host=host, port=port, settings=settings, log_requests=log_requests
        )
    except OSError as error:
        reason = error.strerror or str(error)
        raise ValueError(f"cannot listen on {host}:{port}: {reason}") from None
    # This process only serves: what it holds now (routes, discovery documents) lives as long
    # as it does, so the cyclic collector stops traversing it, and it runs less often (each
    # request's objects are acyclic and freed by reference counting; a full pass over the
    # discovery documents stalled every request).
    gc.freeze()
    gc.set_threshold(*COLLECTOR_THRESHOLDS)
    where = f"state in {state_path}" if state_path else "state in memory"
    print(f"provision emulator listening on {running.base_url} ({where})", file=sys.stderr)
    try:
        running.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        running.stop()


def _prepare_on_daemon_thread(server: EmulatorServer) -> None:
    """Bind, listen and start the worker pool. Threads inherit daemon-ness from the thread that
    starts them, so the workers are started from a daemon thread: a process that exits without
    `stop()` is not held open by idle workers."""
    failure: list[BaseException] = []

    def prepare() -> None:
        try:
            server.prepare()
        except BaseException as error:
            failure.append(error)

    thread = threading.Thread(target=prepare, name="provision-emulator-prepare", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


def start_background(
    state_path: Path | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    settings: EmulatorSettings | None = None,
) -> RunningEmulator:
    """Serve on a daemon thread; returns once the socket is listening."""
    running = build(state_path, host=host, port=port, settings=settings)
    thread = threading.Thread(target=running.serve_forever, name="provision-emulator", daemon=True)
    thread.start()
    running.thread = thread
    return running
