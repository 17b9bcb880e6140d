"""The code of `make live`, run against the emulator so that it cannot rot: the README demo is
recorded, the recording normalised into a replay case, and the case replayed against a fresh
emulator with other ids must answer in the same shapes."""

from __future__ import annotations

from pathlib import Path

from provision.emulator.server import RunningEmulator
from provision.gcp.credentials import Target
from provision.gcp.recording import Recorder
from tests.e2e.cli import FAST_ENV
from tests.golden import exchanges, normalise
from tests.golden.replay import replay
from tests.live import flow

RECORDED_PROJECT = "imaging-flow-4821"


def test_the_recorded_demo_replays_with_other_ids(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    blueprint = flow.write_blueprints(tmp_path / "blueprints", RECORDED_PROJECT)
    log = tmp_path / "demo.http.log"
    env = {**FAST_ENV, "PROVISION_ENDPOINT": emulator.base_url, "PROVISION_RECORD": str(log)}
    target = Target(endpoint=emulator.base_url)
    steps = flow.demo(blueprint, RECORDED_PROJECT, target, env)
    assert "No changes" in steps[5].output

    text = log.read_text(encoding="utf-8")
    recorded = exchanges.parse(text)
    assert len(recorded) > 100
    assert "Authorization: Bearer" not in text
    case = tmp_path / "live__demo.http.log"
    case.write_text(normalise.normalise(text, {RECORDED_PROJECT: "projectId"}), encoding="utf-8")
    assert RECORDED_PROJECT not in case.read_text(encoding="utf-8")

    emulator.world.reset()
    differences = replay(emulator, case, {"projectId": "imaging-replay-77"})
    assert differences == [], "\n".join(differences[:40])
    buckets = [key for key, _ in emulator.world.store.items("buckets")]
    assert "imaging-replay-77-dicom-import" in buckets


def test_a_recording_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "r.http.log")
    response = {"status": 200, "content-type": "application/json"}
    recorder.record(
        "GET", "https://x/y?access_token=abc", {"Authorization": "Bearer t"}, None, response, b"{}"
    )
    assert (recorder.path.stat().st_mode & 0o777) == 0o600
    text = recorder.path.read_text()
    assert "Bearer" not in text and "abc" not in text


def test_recorded_exchanges_happen_one_at_a_time(tmp_path: Path) -> None:
    """Two threads sending at once through a recording Http: the second exchange starts only
    after the first was answered and written, so the file's order is the answering order."""
    import threading
    import time

    events: list[str] = []

    class Slow:
        def request(self, uri: str, method: str = "GET", **_: object) -> tuple[object, bytes]:
            events.append(f"start {uri}")
            time.sleep(0.05)
            events.append(f"end {uri}")
            return {"status": 200, "content-type": "application/json"}, b"{}"

    recorder = Recorder(tmp_path / "r.http.log")
    http = recorder.wrap(Slow())
    threads = [threading.Thread(target=http.request, args=(f"https://x/{n}",)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first, second = events[0].split()[1], events[2].split()[1]
    assert events == [f"start {first}", f"end {first}", f"start {second}", f"end {second}"]
    text = recorder.path.read_text()
    assert text.index(f"GET {first}") < text.index(f"GET {second}")
