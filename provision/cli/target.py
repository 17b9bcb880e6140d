"""Where a command reaches Google (its options are declared in `provision.cli.options`).

Default: real Google with Application Default Credentials. `--credentials FILE` uses a
service-account key, `--impersonate-service-account EMAIL` impersonates, `--endpoint URL` (or
`PROVISION_ENDPOINT`) sends requests to an emulator or proxy serving Google's paths (anonymous
unless credentials are given), and `--emulator` starts the bundled emulator in-process with its
state in `.provision/emulator.db` (or the file a command's `--emulator-state` names), so
separate runs see the same world.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from provision.errors import ProvisionError

if TYPE_CHECKING:
    from provision.gcp.api import GoogleApi

EMULATOR_STATE = Path(".provision/emulator.db")


@dataclass(frozen=True)
class TargetOptions:
    endpoint: str | None = None
    emulator: bool = False
    credentials: Path | None = None
    impersonate: str | None = None
    emulator_state: Path | None = None
    """The bundled emulator's state file (implies `emulator`; default `EMULATOR_STATE`)."""

    @property
    def in_process(self) -> bool:
        """The bundled emulator, started in-process for this command (`--emulator`,
        `--emulator-state`): what it serves is gone when the command ends."""
        return self.emulator or self.emulator_state is not None

    @property
    def uses_emulator(self) -> bool:
        """The bundled emulator (`--emulator`, `--emulator-state`) or an `--endpoint`."""
        return self.in_process or self.endpoint is not None

    def connector(self) -> Callable[[], AbstractContextManager[GoogleApi]]:
        """Opens this target for a block (a workflow's `Connect`)."""
        return partial(connect, self)

    def viewer_url(self) -> str | None:
        """The base URL viewer configs point at: `--endpoint`, the emulator's default URL with
        `--emulator`, or None for Google. TargetError with credentials: configs hold none."""
        from provision.workflows.onboard import DEFAULT_EMULATOR_URL

        self.anonymous("viewer configs sign in in the browser")
        if self.endpoint is not None:
            return self.endpoint.rstrip("/")
        return DEFAULT_EMULATOR_URL if self.uses_emulator else None

    def anonymous(self, why: str) -> None:
        """TargetError when credentials or impersonation are given to a command that uses
        neither (`why` says so)."""
        for given, option in (
            (self.credentials, "--credentials"),
            (self.impersonate, "--impersonate-service-account"),
        ):
            if given:
                raise TargetError(f"{option} is not used here: {why}")


class TargetError(ProvisionError):
    """Conflicting or unusable target options."""


@contextmanager
def connect(options: TargetOptions) -> Iterator[GoogleApi]:
    """Open the target (starting the emulator if asked); stops it on exit."""
    from provision.gcp.api import GoogleApi
    from provision.gcp.credentials import Target
    from provision.gcp.settings import PacingPolicy, Timing

    emulator = options.in_process
    state = options.emulator_state or EMULATOR_STATE
    if emulator and options.endpoint:
        raise TargetError("use either --emulator or --endpoint, not both")
    if emulator and (options.credentials or options.impersonate):
        raise TargetError("--emulator runs anonymously; drop --credentials/--impersonate")
    if options.endpoint:
        check_endpoint(options.endpoint)
    timing = Timing.from_env()
    running = None
    try:
        if emulator:
            from provision.emulator.server import start_background

            state.parent.mkdir(parents=True, exist_ok=True)
            running = start_background(state)
            endpoint: str | None = running.base_url
            label = f"the emulator ({state})"
            if not running.world.settings.quotas:
                timing = Timing(timing.retry, timing.poll, PacingPolicy(enabled=False))
        else:
            endpoint = options.endpoint.rstrip("/") if options.endpoint else None
            label = f"endpoint {endpoint}" if endpoint else "Google Cloud"
        target = Target(
            endpoint=endpoint,
            credentials_file=options.credentials,
            impersonate=options.impersonate,
            label=label,
        )
        yield GoogleApi(target, timing)
    finally:
        if running is not None:
            running.stop()


def check_endpoint(endpoint: str) -> None:
    """An `http(s)://HOST[:PORT]` URL with a port from 1 to 65535; TargetError otherwise."""
    from urllib.parse import urlsplit

    if not endpoint.startswith(("http://", "https://")):
        raise TargetError(f"--endpoint must be an http(s) URL, not {endpoint!r}")
    parts = urlsplit(endpoint)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if not parts.hostname or port == -1 or (port is not None and not 1 <= port <= 65535):
        raise TargetError(
            f"--endpoint {endpoint!r} is not usable: it needs a host and, if it names a port, "
            "a number from 1 to 65535"
        )
