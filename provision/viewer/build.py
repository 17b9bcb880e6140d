"""The OHIF Viewer build that `provision viewer` serves.

By default it is the prebuilt `dist/` folder of the npm package `@ohif/app` at the version pinned
here. The package comes from the npm registry over plain HTTPS with the standard library (no node
or yarn): its version document gives the tarball's address and its sha512 `dist.integrity`, which
must equal the integrity pinned here, and the downloaded bytes must match it. Only then is
`package/dist/` unpacked, once, into the cache directory (`PROVISION_CACHE_DIR`, else
`$XDG_CACHE_HOME/provision`, else `~/.cache/provision`); later runs use it without the network.
A local build (`--ohif-dist DIR`) is used as it is.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from provision.errors import ProvisionError

REGISTRY_ENV = "PROVISION_NPM_REGISTRY"
DEFAULT_REGISTRY = "https://registry.npmjs.org"
CACHE_ENV = "PROVISION_CACHE_DIR"
DIST_PREFIX = "package/dist/"
"""Where a package tarball keeps the prebuilt viewer."""
MARKER = ".provision-integrity"
"""File in an unpacked build naming the integrity it was checked against."""
TIMEOUT_S = 60.0
CHUNK = 1 << 20


@dataclass(frozen=True)
class Pin:
    """One exact package version and the integrity its tarball must have (`sha512-<base64>`)."""

    name: str
    version: str
    integrity: str

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"


PINNED = Pin(
    "@ohif/app",
    "3.13.2",
    "sha512-WZdxmpmG7rqFgW9ZJLcbgr3XCtLi1KDNPoMaeY5PPe6j4G4fjEjjkycZM6C6Zk2F87BKxFfpq+jd5xXZB9E8EA==",
)
"""The OHIF Viewer release `provision viewer` serves."""


class ViewerBuildError(ProvisionError):
    """The viewer build cannot be fetched, checked or found."""


Progress = Callable[[str], None]


def cache_root() -> Path:
    """The user's cache directory for provision."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "provision"


def local_build(directory: Path) -> Path:
    """A local OHIF build folder (`dist/` of `yarn build`); ViewerBuildError when it is not one."""
    if not (directory / "index.html").is_file():
        raise ViewerBuildError(
            f"--ohif-dist {directory}: no index.html there; give the dist/ folder of an OHIF "
            "build (`yarn build` in OHIF's platform/app)"
        )
    return directory.resolve()


def ensure_build(
    pin: Pin = PINNED,
    *,
    registry: str | None = None,
    cache: Path | None = None,
    progress: Progress = lambda _: None,
) -> Path:
    """The unpacked `dist/` of `pin`, fetched, checked and unpacked first if it is not cached."""
    target = (cache or cache_root()) / "ohif" / f"{_slug(pin.name)}-{pin.version}"
    if _marker(target) == pin.integrity:
        return target
    base = (registry or os.environ.get(REGISTRY_ENV) or DEFAULT_REGISTRY).rstrip("/")
    tarball = _published_tarball(base, pin)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".fetch-") as work:
        archive = Path(work) / "package.tgz"
        progress(f"fetching the OHIF Viewer ({pin.label}) from {base}")
        _download(tarball, archive, pin)
        unpacked = Path(work) / "dist"
        _unpack_dist(archive, unpacked, pin)
        (unpacked / MARKER).write_text(pin.integrity, encoding="utf-8")
        if target.exists():  # a stale or partial copy; replaced only after the new one is whole
            shutil.rmtree(target)
        try:
            unpacked.rename(target)
        except OSError:
            if _marker(target) != pin.integrity:  # not another run finishing the same job
                raise
    progress(f"unpacked {pin.label} into {target}")
    return target


def _slug(name: str) -> str:
    return name.lstrip("@").replace("/", "-")


def _marker(target: Path) -> str | None:
    try:
        return (target / MARKER).read_text(encoding="utf-8").strip()
    except OSError:
        return None


def _published_tarball(registry: str, pin: Pin) -> str:
    """The tarball URL from the registry's version document, once its integrity is the pin's."""
    url = f"{registry}/{urllib.parse.quote(pin.name, safe='@')}/{pin.version}"
    with _open(url, pin) as answer:
        try:
            document: Any = json.loads(answer.read())
            dist = document["dist"]
            integrity, tarball = str(dist["integrity"]), str(dist["tarball"])
        except (ValueError, KeyError, TypeError):
            raise ViewerBuildError(
                f"the npm registry's answer for {pin.label} at {url} has no dist.integrity "
                "and dist.tarball"
            ) from None
    if integrity != pin.integrity:
        raise ViewerBuildError(
            f"the npm registry publishes integrity {integrity} for {pin.label}, but provision "
            f"pins {pin.integrity}: refusing to use it"
        )
    if not tarball.startswith(("https://", "http://")):
        raise ViewerBuildError(f"the npm registry gives no usable tarball URL for {pin.label}")
    return tarball


def _open(url: str, pin: Pin) -> Any:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        return urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as error:
        error.close()
        raise ViewerBuildError(
            f"the npm registry answered {error.code} for {pin.label} ({url})"
        ) from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise ViewerBuildError(
            f"cannot fetch {pin.label} from {url} ({reason}); set {REGISTRY_ENV} to a registry "
            "you can reach, or give a local OHIF build with --ohif-dist DIR"
        ) from None


def _download(url: str, archive: Path, pin: Pin) -> None:
    """Save the tarball, hashing it on the way; ViewerBuildError when the hash is not the pin's."""
    digest = hashlib.sha512()
    with _open(url, pin) as answer, archive.open("wb") as out:
        try:
            while chunk := answer.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
        except OSError as error:
            raise ViewerBuildError(f"downloading {pin.label} from {url} failed: {error}") from None
    actual = "sha512-" + base64.b64encode(digest.digest()).decode("ascii")
    if actual != pin.integrity:
        raise ViewerBuildError(
            f"{pin.label} from {url} does not match its integrity {pin.integrity} (got {actual}); "
            "nothing was unpacked"
        )


def _unpack_dist(archive: Path, destination: Path, pin: Pin) -> None:
    """Write the regular files under `package/dist/` into `destination`; nothing else (no links,
    devices or paths leaving the folder)."""
    count = 0
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                relative = _dist_path(member)
                if relative is None:
                    continue
                source = tar.extractfile(member)
                if source is None:
                    continue
                _write(destination.joinpath(*relative.parts), source)
                count += 1
    except (tarfile.TarError, EOFError, OSError) as error:
        raise ViewerBuildError(f"cannot unpack {pin.label}: {error}") from None
    if count == 0 or not (destination / "index.html").is_file():
        raise ViewerBuildError(f"{pin.label} holds no prebuilt viewer (package/dist/index.html)")


def _dist_path(member: tarfile.TarInfo) -> PurePosixPath | None:
    if not member.isfile() or not member.name.startswith(DIST_PREFIX):
        return None
    relative = PurePosixPath(member.name[len(DIST_PREFIX) :])
    if not relative.parts or relative.is_absolute() or ".." in relative.parts:
        return None
    return relative


def _write(path: Path, source: IO[bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        shutil.copyfileobj(source, out, CHUNK)
