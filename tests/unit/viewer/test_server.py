"""The viewer's web server: the build's files, the generated config, the single-page fallback and
cross-origin isolation, as OHIF's own development server serves them."""

from __future__ import annotations

import socket
import urllib.request
from pathlib import Path

import pytest
from werkzeug.test import Client

from provision.viewer.server import ViewerApp, ViewerServeError, start

CONFIG = "window.config = {};\n"


@pytest.fixture
def build(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text("<html>index</html>")
    (tmp_path / "app-config.js").write_text("window.config = {packaged: true};")
    (tmp_path / "app.bundle.js").write_text("console.log(1)")
    (tmp_path / "codec.wasm").write_bytes(b"\0asm")
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "logo.svg").write_text("<svg/>")
    return tmp_path


def test_files_config_and_fallback(build: Path) -> None:
    client = Client(ViewerApp(build, CONFIG))
    config = client.get("/app-config.js")
    assert config.get_data(as_text=True) == CONFIG  # the generated one, not the packaged one
    assert config.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert config.headers["Cache-Control"] == "no-store"
    assert client.get("/app.bundle.js").headers["Content-Type"].startswith("text/javascript")
    wasm = client.get("/codec.wasm")
    assert (wasm.headers["Content-Type"], wasm.get_data()) == ("application/wasm", b"\0asm")
    assert client.get("/assets/logo.svg").headers["Content-Type"].startswith("image/svg+xml")
    for route in ("/", "/viewer", "/viewer/dicomweb?StudyInstanceUIDs=1.2.3", "/callback"):
        answer = client.get(route)
        assert answer.status_code == 200
        assert answer.get_data(as_text=True) == "<html>index</html>", route


def test_every_answer_is_cross_origin_isolated(build: Path) -> None:
    client = Client(ViewerApp(build, CONFIG))
    for route in ("/", "/app-config.js", "/codec.wasm", "/missing.js"):
        headers = client.get(route).headers
        assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
        assert headers["Cross-Origin-Embedder-Policy"] == "require-corp"


def test_nothing_outside_the_build_is_served(
    build: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    secret = tmp_path_factory.mktemp("outside") / "secret.txt"
    secret.write_text("secret")
    client = Client(ViewerApp(build, CONFIG))
    for route in (f"/../{secret.parent.name}/secret.txt", "/%2e%2e/secret.txt", str(secret)):
        assert "secret" not in client.get(route).get_data(as_text=True)
    assert client.post("/app-config.js").status_code == 405


def test_it_serves_on_loopback_and_names_a_taken_port(build: Path) -> None:
    running = start(ViewerApp(build, CONFIG), 0)
    try:
        assert running.url == f"http://localhost:{running.port}"
        with urllib.request.urlopen(f"http://127.0.0.1:{running.port}/app-config.js") as answer:
            assert answer.read().decode() == CONFIG
        with pytest.raises(ViewerServeError, match=f"cannot listen on 127.0.0.1:{running.port}"):
            start(ViewerApp(build, CONFIG), running.port)
    finally:
        running.stop()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", running.port)) != 0
