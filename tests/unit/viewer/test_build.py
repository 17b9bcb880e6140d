"""Fetching the pinned OHIF package: checked against the integrity before anything is unpacked,
unpacked once, and only the regular files under `package/dist/`.

The registry here is a local HTTP server answering the registry's paths
(`/{name}/{version}` with `dist.integrity` and `dist.tarball`, then the tarball)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from provision.viewer.build import (
    MARKER,
    Pin,
    ViewerBuildError,
    ensure_build,
    local_build,
)

NAME = "@ohif/app"
VERSION = "9.9.9"


def tarball(extra: list[tarfile.TarInfo] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in {
            "package/package.json": b'{"name": "@ohif/app"}',
            "package/dist/index.html": b"<html>viewer</html>",
            "package/dist/app.bundle.js": b"console.log(1)",
            "package/dist/assets/logo.svg": b"<svg/>",
        }.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra or []:
            tar.addfile(info, io.BytesIO(b"evil" * (info.size // 4)) if info.size else None)
    return buffer.getvalue()


def integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


class Registry:
    """Answers `/@ohif%2Fapp/9.9.9` and `/tarball.tgz`; counts the requests."""

    def __init__(self) -> None:
        self.document: dict[str, object] = {}
        self.tarball = b""
        self.requests: list[str] = []
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                registry.requests.append(self.path)
                if self.path == "/@ohif%2Fapp/9.9.9":
                    body = json.dumps(registry.document).encode()
                elif self.path == "/tarball.tgz":
                    body = registry.tarball
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def publish(self, data: bytes, published: str | None = None) -> Pin:
        """Serve `data` as the tarball; the document says `published` (default: its hash)."""
        self.tarball = data
        self.document = {
            "name": NAME,
            "version": VERSION,
            "dist": {
                "integrity": published or integrity(data),
                "tarball": f"{self.url}/tarball.tgz",
            },
        }
        return Pin(NAME, VERSION, integrity(data))


@pytest.fixture
def registry() -> Iterator[Registry]:
    running = Registry()
    yield running
    running.server.shutdown()
    running.server.server_close()


def test_the_package_is_checked_unpacked_once_and_then_used_offline(
    registry: Registry, tmp_path: Path
) -> None:
    pin = registry.publish(tarball())
    messages: list[str] = []
    dist = ensure_build(pin, registry=registry.url, cache=tmp_path, progress=messages.append)
    assert dist == tmp_path / "ohif" / "ohif-app-9.9.9"
    assert (dist / "index.html").read_bytes() == b"<html>viewer</html>"
    assert (dist / "assets" / "logo.svg").is_file()
    assert not (dist / "package.json").exists()  # only dist/ is unpacked
    assert (dist / MARKER).read_text() == pin.integrity
    assert registry.requests == ["/@ohif%2Fapp/9.9.9", "/tarball.tgz"]
    assert any("fetching" in m for m in messages)

    registry.server.shutdown()
    assert ensure_build(pin, registry=registry.url, cache=tmp_path) == dist
    assert len(registry.requests) == 2
    assert [p.name for p in (tmp_path / "ohif").iterdir()] == ["ohif-app-9.9.9"]


def test_a_tarball_that_is_not_the_pinned_one_is_refused_and_nothing_is_unpacked(
    registry: Registry, tmp_path: Path
) -> None:
    good = tarball()
    pin = registry.publish(good)
    registry.tarball = good[:-10] + b"0123456789"  # same size, other bytes
    with pytest.raises(ViewerBuildError, match="does not match its integrity"):
        ensure_build(pin, registry=registry.url, cache=tmp_path)
    assert list((tmp_path / "ohif").iterdir()) == []


def test_a_registry_publishing_another_integrity_is_refused(
    registry: Registry, tmp_path: Path
) -> None:
    pin = registry.publish(tarball(), published=integrity(b"another build"))
    with pytest.raises(ViewerBuildError, match=r"publishes integrity .* but provision pins"):
        ensure_build(pin, registry=registry.url, cache=tmp_path)
    assert registry.requests == ["/@ohif%2Fapp/9.9.9"]  # the tarball is never fetched


def test_links_and_paths_leaving_the_folder_are_not_unpacked(
    registry: Registry, tmp_path: Path
) -> None:
    escape = tarfile.TarInfo("package/dist/../../escaped.txt")
    escape.size = 4
    link = tarfile.TarInfo("package/dist/passwd")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    pin = registry.publish(tarball([escape, link]))
    dist = ensure_build(pin, registry=registry.url, cache=tmp_path / "cache")
    assert not (dist / "passwd").exists()
    assert not list(tmp_path.rglob("escaped.txt"))


def test_a_stale_copy_is_replaced(registry: Registry, tmp_path: Path) -> None:
    pin = registry.publish(tarball())
    stale = tmp_path / "ohif" / "ohif-app-9.9.9"
    stale.mkdir(parents=True)
    (stale / "index.html").write_text("half unpacked")
    dist = ensure_build(pin, registry=registry.url, cache=tmp_path)
    assert (dist / "index.html").read_bytes() == b"<html>viewer</html>"


def test_an_unreachable_registry_says_what_to_do(tmp_path: Path) -> None:
    pin = Pin(NAME, VERSION, integrity(b"x"))
    with pytest.raises(ViewerBuildError) as error:
        ensure_build(pin, registry="http://127.0.0.1:9", cache=tmp_path)
    assert "PROVISION_NPM_REGISTRY" in str(error.value)
    assert "--ohif-dist" in str(error.value)


def test_a_missing_version_names_the_registry_answer(registry: Registry, tmp_path: Path) -> None:
    with pytest.raises(ViewerBuildError, match=r"answered 404 for @ohif/app@1\.0\.0"):
        ensure_build(Pin(NAME, "1.0.0", "sha512-x"), registry=registry.url, cache=tmp_path)


def test_a_local_build_needs_an_index_page(tmp_path: Path) -> None:
    with pytest.raises(ViewerBuildError, match=r"no index\.html"):
        local_build(tmp_path)
    (tmp_path / "index.html").write_text("<html></html>")
    assert local_build(tmp_path) == tmp_path.resolve()
