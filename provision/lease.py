"""The single-writer lease: two applies on one project never write at the same time.

The lease is one Cloud Storage object, `provision-locks/<project-id>.lease`, whose custom
metadata says who holds it (`state`, `runId`, `holder`, `expires`). Every change to it is a
conditional write, so Cloud Storage decides races:

* acquire an absent lease: `objects.insert` with `ifGenerationMatch=0` (412 when it exists);
* acquire a free or expired lease, renew, release: `objects.patch` with the generation and
  metageneration last read (`ifGenerationMatch` + `ifMetagenerationMatch`; 412 when another
  run changed it in between). Releasing marks the object free; it is never deleted, so its
  metageneration counts every acquisition.

That count makes planning outside the lease safe and cheap: apply reads the lease before it
plans (`peek`) and acquires it conditioned on that very read. When the acquisition succeeds,
no other run held the lease since the plan's reads (`Held.trusted`), so the plan stands; when
it does not (the lease was held, or another run got in between), apply re-checks its plan under
the lease. A run that does not change anything never writes the lease.

A held lease expires after its TTL unless renewed; apply renews it every third of the TTL while
it runs, and a run whose renewal is refused has lost the lease (`on_lost` is called; apply
stops). An expired lease (a crashed run) is taken over with the same conditional patch, and so is
a lease whose holder provably ran on this very machine and PID namespace (same host, boot id and
PID namespace, recorded in the metadata) in a process that no longer exists (killed), at once.
A holder anywhere else (another container, another PID namespace, another machine, or a lease
that does not say) is never judged by its PID: its lease expires or is force-unlocked.
`force_release` frees another run's lease on request (`provision force-unlock`), again only if
it is unchanged since read.

Where: `lease.bucket`, else the first declared bucket that no import reads, else the first
whose imports cannot read the lease object (`choose_site`). A declared import must never read
the lease object (it is not a DICOM file); `provision validate` refuses such a blueprint.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provision.blueprint.rules import import_reads
from provision.errors import GoogleApiError, ProvisionError
from provision.gcp.methods import OBJECTS
from provision.resources import addresses

if TYPE_CHECKING:
    from provision.gcp.api import GoogleApi

log = logging.getLogger("provision.lease")

PREFIX = "provision-locks/"
DEFAULT_TTL = 900.0
POLL_SECONDS = 2.0
"""How often a waiting run looks at the lease again."""
FREE = {
    "state": "free",
    "runId": "",
    "holder": "",
    "expires": "",
    "host": "",
    "pid": "",
    "bootId": "",
    "pidNamespace": "",
}
"""The metadata of a released lease."""
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
"""Linux: a random id of this boot of this machine's kernel (shared by its containers)."""
PID_NAMESPACE = Path("/proc/self/ns/pid")
"""Linux: this process's PID namespace (`pid:[INODE]`), whose PIDs `os.kill` can probe."""


def object_name(project_id: str) -> str:
    """The lease object of a project: `provision-locks/<project-id>.lease`."""
    return f"{PREFIX}{project_id}.lease"


class LeaseHeldError(ProvisionError):
    """Another run holds the lease (and did not release it within `--lease-wait`)."""


class LeaseLostError(ProvisionError):
    """The lease was taken by another run (ours expired) while this run was applying."""


@dataclass(frozen=True)
class Site:
    """Where a project's lease lives."""

    bucket: str
    name: str
    ttl: float = DEFAULT_TTL

    def __str__(self) -> str:
        return f"gs://{self.bucket}/{self.name}"


@dataclass(frozen=True)
class Seen:
    """The lease object as read: absent (`generation` 0), free, or held."""

    generation: int = 0
    metageneration: int = 0
    state: str = "absent"
    run_id: str = ""
    holder: str = ""
    expires: float = 0.0
    host: str = ""
    pid: int = 0
    boot_id: str = ""
    pid_ns: str = ""

    def free_at(self, now: float) -> bool:
        return self.state != "held" or self.expires <= now

    def describe(self) -> str:
        when = datetime.fromtimestamp(self.expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"held by {self.holder or 'unknown'} (run {self.run_id or '?'}) until {when}"


@dataclass
class Held:
    """A lease this run holds."""

    site: Site
    run_id: str
    generation: int
    metageneration: int
    trusted: bool
    """True when no other run held the lease since the `Seen` the acquisition was based on."""
    took_over: str = ""
    """Who held the lease this run took over (empty when it was not taken over)."""
    took_over_why: str = ""
    """Why it could be taken over: `expired`, or `its process is gone`."""


def choose_site(
    project_id: str,
    *,
    bucket: str | None,
    declared_buckets: Sequence[str],
    import_uris: Sequence[str] = (),
    ttl: float = DEFAULT_TTL,
) -> Site | None:
    """The lease's place: `lease.bucket` when set, else the first declared bucket no import
    reads, else the first none of whose imports would read the lease object; None when the
    blueprint declares no such bucket (then `lease.bucket` is required, see `lease_readers`)."""
    name = object_name(project_id)
    read = {addresses.bucket_of_uri(uri) for uri in import_uris}
    unread = [b for b in declared_buckets if b not in read]
    safe = [b for b in declared_buckets if not lease_readers(name, b, import_uris)]
    chosen = bucket or next(iter(unread + safe), None)
    return Site(chosen, name, ttl) if chosen else None


def lease_readers(name: str, bucket: str, import_uris: Sequence[str]) -> list[int]:
    """Indexes of the import URIs that would read the lease object `name` in `bucket`."""
    return [i for i, uri in enumerate(import_uris) if import_reads(uri, bucket, name)]


def this_machine() -> tuple[str, str]:
    """(boot id, PID namespace) of this process; empty strings where they cannot be read (not
    Linux), so that no lease is ever judged by its PID there."""

    def read(probe: Callable[[], str]) -> str:
        try:
            return probe().strip()
        except OSError:
            return ""

    return read(BOOT_ID.read_text), read(lambda: os.readlink(PID_NAMESPACE))


class Lease:
    """One project's lease, seen through the API gateway."""

    def __init__(
        self,
        api: GoogleApi,
        site: Site,
        *,
        run_id: str,
        holder: str,
        clock: Callable[[], float] = time.time,
        host: str | None = None,
        pid: int | None = None,
        alive: Callable[[int], bool] | None = None,
        machine: tuple[str, str] | None = None,
    ) -> None:
        self.api = api
        self.site = site
        self.run_id = run_id
        self.holder = holder
        self.clock = clock
        self.host = socket.gethostname() if host is None else host
        self.pid = os.getpid() if pid is None else pid
        self.alive = alive or process_alive
        self.boot_id, self.pid_ns = this_machine() if machine is None else machine

    # -- reads ----------------------------------------------------------------------------

    def peek(self) -> Seen:
        """Read the lease object (one list call; 404 means the bucket itself is missing)."""
        item = self._read()
        return Seen() if item is None else _seen(item)

    def _read(self) -> dict[str, Any] | None:
        page = self.api.call(
            f"{OBJECTS}.list",
            bucket=self.site.bucket,
            prefix=self.site.name,
            maxResults=2,
        )
        for item in page.get("items") or []:
            if item.get("name") == self.site.name:
                return dict(item)
        return None

    # -- writes ---------------------------------------------------------------------------

    def acquire(self, seen: Seen, *, wait: float = 0.0) -> Held:
        """Take the lease, starting from `seen`; wait up to `wait` seconds while others hold it.

        Raises LeaseHeldError naming the holder and expiry when it stays held.
        """
        deadline = time.monotonic() + wait
        trusted = True
        while True:
            now = self.clock()
            why = self._why_free(seen, now)
            if why is not None:
                took_over = seen.holder or seen.run_id if seen.state == "held" else ""
                held = self._try_take(seen, trusted=trusted and not took_over)
                if held is not None:
                    held.took_over = took_over
                    held.took_over_why = why if took_over else ""
                    return held
            elif time.monotonic() >= deadline:
                raise LeaseHeldError(
                    f"another apply is running on this project: lease {self.site} is "
                    f"{seen.describe()}. Wait for it to finish (or pass --lease-wait SECONDS); "
                    "an expired lease is taken over automatically, and if that run crashed, "
                    f"`provision force-unlock BLUEPRINT {seen.run_id or 'RUN_ID'}` frees it now."
                )
            else:
                _sleep(min(POLL_SECONDS, max(0.05, deadline - time.monotonic())), self.api.cancel)
            trusted = False
            seen = self.peek()

    def _why_free(self, seen: Seen, now: float) -> str | None:
        """None while another run may be holding the lease; else why it may be taken."""
        if seen.free_at(now):
            return "expired" if seen.state == "held" else "free"
        if self._probeable(seen) and not self.alive(seen.pid):
            return "its process is gone"
        return None

    def _probeable(self, seen: Seen) -> bool:
        """Whether the holder's PID means a process this one can probe: the holder says it ran
        on this host, this boot of its kernel and this PID namespace (another container or
        namespace on the same host may reuse the PID, or hide a live one)."""
        here = (seen.host, seen.boot_id, seen.pid_ns) == (self.host, self.boot_id, self.pid_ns)
        return (
            here and all((seen.host, seen.boot_id, seen.pid_ns)) and seen.pid not in (0, self.pid)
        )

    def renew(self, held: Held) -> None:
        """Push the expiry forward; LeaseLostError when another run changed the lease."""
        answer = self._patch_held(held, {"expires": _stamp(self.clock() + self.site.ttl)})
        if answer is None:
            raise LeaseLostError(f"lost the lease {self.site}: another run took it over; stopping")
        held.metageneration = int(answer.get("metageneration") or held.metageneration + 1)

    def release(self, held: Held) -> bool:
        """Mark the lease free; False when it was no longer ours (taken over or gone)."""
        return self._patch_held(held, FREE) is not None

    def force_release(self, seen: Seen) -> bool:
        """Mark the lease free if it is still exactly as `seen` (another run's, e.g. of a
        crashed machine); False when it changed since. The run that held it, if it is still
        running, learns it at its next renewal and stops (`LeaseLostError`)."""
        if seen.generation == 0:
            return False
        return (
            self._patch_held(
                Held(self.site, seen.run_id, seen.generation, seen.metageneration, trusted=False),
                FREE,
            )
            is not None
        )

    def _patch_held(self, held: Held, metadata: dict[str, str]) -> dict[str, Any] | None:
        """Change the lease's metadata if it is still the one we hold; None when it is not."""
        try:
            answer: dict[str, Any] = self.api.call(
                f"{OBJECTS}.patch",
                bucket=self.site.bucket,
                object=self.site.name,
                ifGenerationMatch=held.generation,
                ifMetagenerationMatch=held.metageneration,
                body={"metadata": metadata},
            )
        except GoogleApiError as error:
            if error.http_status == 412:
                return self._committed(held, metadata)
            if error.http_status == 404:
                return None
            raise
        return answer

    def _committed(self, held: Held, metadata: dict[str, str]) -> dict[str, Any] | None:
        """After a 412: the lease as read back when it is exactly what our patch made (its
        answer was lost and a retried attempt found the change made), else None."""
        item = self._read()
        if item is None or _int(item.get("generation")) != held.generation:
            return None
        if _int(item.get("metageneration")) != held.metageneration + 1:
            return None
        now = item.get("metadata") or {}
        return item if all(now.get(k, "") == v for k, v in metadata.items()) else None

    def _try_take(self, seen: Seen, *, trusted: bool) -> Held | None:
        """One conditional write; None when another run changed the lease first (412)."""
        metadata = {
            "state": "held",
            "runId": self.run_id,
            "holder": self.holder,
            "expires": _stamp(self.clock() + self.site.ttl),
            "host": self.host,
            "pid": str(self.pid),
            "bootId": self.boot_id,
            "pidNamespace": self.pid_ns,
        }
        try:
            if seen.generation == 0:
                # An empty object with its metadata, sent as a multipart upload: Cloud Storage
                # creates objects only through /upload/storage/v1/b/B/o with an uploadType
                # (storage.v1.json, objects.insert mediaUpload); the metadata-only POST to
                # /storage/v1/b/B/o is answered 400 wrongUrlForUpload.
                answer = self.api.call(
                    f"{OBJECTS}.insert",
                    bucket=self.site.bucket,
                    name=self.site.name,
                    ifGenerationMatch=0,
                    body={
                        "name": self.site.name,
                        "contentType": "text/plain",
                        "metadata": metadata,
                    },
                    media=b"",
                    media_mime_type="text/plain",
                )
            else:
                answer = self.api.call(
                    f"{OBJECTS}.patch",
                    bucket=self.site.bucket,
                    object=self.site.name,
                    ifGenerationMatch=seen.generation,
                    ifMetagenerationMatch=seen.metageneration,
                    body={"metadata": metadata},
                )
        except GoogleApiError as error:
            if error.http_status != 412:
                raise
            # Lost the race, or our own write committed before a retried attempt: read back.
            now_seen = self.peek()
            if now_seen.state == "held" and now_seen.run_id == self.run_id:
                return Held(
                    self.site,
                    self.run_id,
                    now_seen.generation,
                    now_seen.metageneration,
                    trusted=False,
                )
            return None
        return Held(
            self.site,
            self.run_id,
            int(answer["generation"]),
            int(answer["metageneration"]),
            trusted=trusted,
        )


@contextmanager
def holding(
    lease: Lease,
    seen: Seen,
    *,
    wait: float = 0.0,
    on_lost: Callable[[LeaseLostError], None] | None = None,
) -> Iterator[Held]:
    """Acquire, renew in the background every third of the TTL, and always release."""
    held = lease.acquire(seen, wait=wait)
    stop = threading.Event()

    def renew_loop() -> None:
        while not stop.wait(lease.site.ttl / 3):
            try:
                lease.renew(held)
            except LeaseLostError as error:
                if on_lost is not None:
                    on_lost(error)
                return
            except ProvisionError as error:  # transient: the next tick tries again
                log.warning("could not renew the lease %s: %s", lease.site, error)

    renewer = threading.Thread(target=renew_loop, name="lease-renewal", daemon=True)
    renewer.start()
    try:
        yield held
    finally:
        stop.set()
        renewer.join()
        try:
            # Ctrl-C or a lost lease sets the run's cancel flag; releasing must still happen.
            Lease(
                _uncancelled(lease.api), lease.site, run_id=lease.run_id, holder=lease.holder
            ).release(held)
        except ProvisionError as error:
            log.warning(
                "could not release the lease %s (it expires by itself): %s", lease.site, error
            )


def _uncancelled(api: GoogleApi) -> GoogleApi:
    """`api` itself, or a twin with its own cancel flag when `api`'s is set."""
    if not api.cancel.is_set():
        return api
    from provision.gcp.api import GoogleApi

    return GoogleApi(api.target, api.timing)


def _seen(item: dict[str, Any]) -> Seen:
    metadata = item.get("metadata") or {}
    return Seen(
        generation=int(item.get("generation") or 0),
        metageneration=int(item.get("metageneration") or 0),
        state=str(metadata.get("state") or "free"),
        run_id=str(metadata.get("runId") or ""),
        holder=str(metadata.get("holder") or ""),
        expires=_parse(str(metadata.get("expires") or "")),
        host=str(metadata.get("host") or ""),
        pid=_int(metadata.get("pid")),
        boot_id=str(metadata.get("bootId") or ""),
        pid_ns=str(metadata.get("pidNamespace") or ""),
    )


def _int(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def process_alive(pid: int) -> bool:
    """True when a process `pid` exists on this host (or cannot be probed: then assume so)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: it exists, owned by someone else
        return True
    return True


def _stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(text: str) -> float:
    if not text:
        return 0.0
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return 0.0


def _sleep(seconds: float, cancel: threading.Event) -> None:
    from provision.errors import RunInterruptedError

    if cancel.wait(seconds):
        raise RunInterruptedError("interrupted while waiting for the lease; nothing changed")
