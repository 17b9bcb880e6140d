"""One `provision viewer` run (`run`): the viewer config for the blueprint, then serving it.

Against the emulator (or any endpoint that serves Google's paths without sign-in) the data sources
point at that URL and there is no sign-in. Against Google, OHIF signs users in with the
blueprint's OAuth web client (`oauth.clientId`) and comes back to `http://localhost:PORT/callback`;
Google allows that only when `http://localhost:PORT` is one of the client's origins, so it must be
one of `oauth.origins`.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from provision.blueprint.loader import LoadedBlueprint, load
from provision.blueprint.oauth import LOCAL_VIEWER_PORT, local_viewer_origin
from provision.errors import ViewerConfigError
from provision.outputs.ohif import ohif_config, source_names
from provision.outputs.stores import select_stores
from provision.viewer import build, server
from provision.workflows.ui import Connect, Ui

DEFAULT_PORT = LOCAL_VIEWER_PORT


@dataclass(frozen=True)
class ViewerRequest:
    """What one `provision viewer` serves, and from where."""

    blueprint: Path
    site: str | None = None
    """Only the DICOM stores of this site."""
    port: int = DEFAULT_PORT
    """Port on localhost (0 picks a free one)."""
    ohif_dist: Path | None = None
    """A local OHIF build folder instead of the pinned release."""


def run(request: ViewerRequest, ui: Ui, connect: Connect | None) -> None:
    """Serve the OHIF Viewer for the blueprint's stores until Ctrl-C: against the endpoint
    `connect` opens (kept open meanwhile, e.g. a started emulator), else against Google with
    sign-in. Build progress goes to `ui.note`, the banner and `stopped` to `ui.say`."""
    loaded = load(request.blueprint)
    with connect() if connect is not None else nullcontext() as api:
        data_url = api.target.endpoint if api is not None else None
        setup = viewer_setup(loaded, site=request.site, port=request.port, data_url=data_url)
        if request.ohif_dist is not None:
            folder, label = build.local_build(request.ohif_dist), str(request.ohif_dist)
        else:
            folder, label = build.ensure_build(progress=ui.note), build.PINNED.label
        serve(setup, folder, label, request.port, ui.say)


@dataclass(frozen=True)
class ViewerSetup:
    """What one viewer serves: the `app-config.js` text and its data sources."""

    config: str
    sources: tuple[tuple[str, str], ...]
    """(`dataset/store`, data source name) per DICOM store, the default first."""
    data_url: str | None
    """The emulator's (or endpoint's) base URL; None for Google."""


def viewer_setup(
    loaded: LoadedBlueprint, *, site: str | None, port: int, data_url: str | None
) -> ViewerSetup:
    """The config for the blueprint's stores (or one site's); ViewerConfigError when Google
    sign-in cannot work from this port."""
    blueprint = loaded.blueprint
    stores = select_stores(blueprint, site)
    names = source_names(stores)
    sources = tuple(
        (f"{store.dataset}/{store.store}", name) for store, name in zip(stores, names, strict=True)
    )
    if data_url is not None:
        config = ohif_config(blueprint, site=site, base_url=data_url, emulator=True)
        return ViewerSetup(config, sources, data_url)
    origin = local_viewer_origin(port)
    origins = blueprint.oauth.origins if blueprint.oauth is not None else []
    if port == 0 or origin not in origins:
        where = loaded.locate("oauth.origins" if blueprint.oauth is not None else "oauth")
        shown = origin if port else "a fixed http://localhost:PORT origin"
        raise ViewerConfigError(
            f"{where}: oauth.origins: Google signs viewers in only from origins the OAuth "
            f"client lists; add {shown} to `oauth.origins` and to the client "
            "(`provision config oauth` lists the steps), or use another --port"
        )
    config = ohif_config(blueprint, site=site, origin=origin)
    return ViewerSetup(config, sources, None)


def banner(setup: ViewerSetup, url: str, build: str) -> list[str]:
    """What `provision viewer` prints once it serves: the study list URL first."""
    lines = [f"OHIF Viewer ({build}) at {url}/ - Ctrl-C stops it"]
    if len(setup.sources) > 1:
        lines += [f"  {label}: {url}/?datasources={name}" for label, name in setup.sources]
    if setup.data_url is None:
        lines.append(
            "Data from Google Cloud Healthcare; sign in with a Google account that may read it."
        )
    else:
        lines.append(f"Data from {setup.data_url} (no sign-in).")
    return lines


def serve(
    setup: ViewerSetup, build: Path, build_label: str, port: int, echo: Callable[[str], None]
) -> None:
    """Serve the viewer until interrupted (Ctrl-C)."""
    running = server.start(server.ViewerApp(build, setup.config), port)
    try:
        for line in banner(setup, running.url, build_label):
            echo(line)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        echo("stopped")
    finally:
        running.stop()


def viewer_command(
    blueprint: Path, site: str | None, *, endpoint: str | None = None, emulator: bool = False
) -> str:
    """The `provision viewer` command line that opens these studies."""
    words = ["provision", "viewer", str(blueprint)]
    if site is not None:
        words += ["--site", site]
    if emulator:
        words.append("--emulator")
    elif endpoint:
        words += ["--endpoint", endpoint]
    return shlex.join(words)
