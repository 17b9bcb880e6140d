"""The single-writer lease on the emulator: taken only to write, released after success, failure
and when stale plans are refused, refused while held, taken over when expired, and two
concurrent applies whose writes never interleave."""

from __future__ import annotations

import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaIoBaseUpload

from provision.emulator.server import RunningEmulator
from provision.gcp.api import GoogleApi
from provision.gcp.credentials import Target
from provision.lease import Lease, LeaseHeldError, LeaseLostError, Site, holding, this_machine
from tests.e2e.cli import FAST_ENV
from tests.e2e.conftest import BILLING, PROJECT, CliFn, clear_journal, journal, set_faults

LOCKS = "e2e-imaging-locks"
LEASE = f"provision-locks/{PROJECT}.lease"


def blueprint_text(env: str) -> str:
    return f"""\
version: 1
project:
  id: {PROJECT}
  billingAccount: {BILLING}
  labels:
    env: {env}
services:
  - storage.googleapis.com
buckets:
  - name: {LOCKS}
    location: US
lease:
  bucket: {LOCKS}
"""


@pytest.fixture
def leased(tmp_path: Path, cli: CliFn) -> Path:
    """A blueprint keeping its lease in its own bucket, applied once (which creates the bucket
    and so runs without a lease)."""
    path = tmp_path / "leased.yaml"
    path.write_text(blueprint_text("test"), encoding="utf-8")
    first = cli("apply", path, "--yes")
    assert first.exit_code == 0, first.output
    assert f"no lease: bucket {LOCKS} does not exist yet" in first.stderr
    return path


def relabel(path: Path, env: str) -> None:
    path.write_text(blueprint_text(env), encoding="utf-8")


def lease_object(google: Any) -> dict[str, Any]:
    storage = google("storage", "v1")
    found: dict[str, Any] = storage.objects().get(bucket=LOCKS, object=LEASE).execute()
    return found


def plant_lease(
    google: Any,
    *,
    holder: str,
    expires: datetime,
    host: str = "",
    pid: int = 0,
    machine: tuple[str, str] = ("", ""),
) -> None:
    """Another run's lease, written out-of-band; `machine` is its (boot id, PID namespace)."""
    storage = google("storage", "v1")
    metadata = {
        "state": "held",
        "runId": "0123456789ab",
        "holder": holder,
        "expires": expires.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "host": host,
        "pid": str(pid),
        "bootId": machine[0],
        "pidNamespace": machine[1],
    }
    storage.objects().insert(
        bucket=LOCKS,
        body={"name": LEASE, "metadata": metadata},
        media_body=MediaIoBaseUpload(io.BytesIO(b""), mimetype="text/plain"),
    ).execute()


def lease_writes(emulator: RunningEmulator) -> list[dict[str, Any]]:
    return [
        e
        for e in journal(emulator)
        if e["mutating"] and "provision-locks" in e["path"] + e["query"]
    ]


def resource_writes(emulator: RunningEmulator) -> list[dict[str, Any]]:
    return [
        e
        for e in journal(emulator)
        if e["mutating"] and "provision-locks" not in e["path"] + e["query"]
    ]


def labels(google: Any) -> dict[str, str]:
    crm = google("cloudresourcemanager", "v3")
    project: dict[str, Any] = crm.projects().get(name=f"projects/{PROJECT}").execute()
    return dict(project.get("labels") or {})


def test_a_no_op_apply_never_writes_the_lease(
    cli: CliFn, leased: Path, emulator: RunningEmulator
) -> None:
    clear_journal(emulator)
    again = cli("apply", leased, "--yes")
    assert again.exit_code == 0, again.output
    assert [e for e in journal(emulator) if e["mutating"]] == []


def test_lease_is_taken_to_write_and_released_after_success(
    cli: CliFn, leased: Path, emulator: RunningEmulator, google: Any
) -> None:
    relabel(leased, "prod")
    clear_journal(emulator)
    applied = cli("apply", leased, "--yes")
    assert applied.exit_code == 0, applied.output
    assert f"Lease: gs://{LOCKS}/{LEASE} held by run " in applied.stderr
    writes = lease_writes(emulator)
    assert [(e["method_id"], e["status"]) for e in writes] == [
        ("objects.insert", 200),
        ("objects.patch", 200),
    ]
    assert "ifGenerationMatch=0" in writes[0]["query"]
    # every resource write happened while the lease was held
    for entry in resource_writes(emulator):
        assert writes[0]["start"] < entry["start"] < writes[1]["start"]
    assert lease_object(google)["metadata"]["state"] == "free"
    assert labels(google)["env"] == "prod"


def test_an_absent_lease_is_created_by_a_multipart_upload(
    cli: CliFn, leased: Path, emulator: RunningEmulator, google: Any
) -> None:
    """The first apply that takes the lease creates its object: Cloud Storage refuses the
    metadata-only `POST /storage/v1/b/B/o` (400 wrongUrlForUpload), so it is an upload."""
    relabel(leased, "prod")
    clear_journal(emulator)
    applied = cli("apply", leased, "--yes")
    assert applied.exit_code == 0, applied.output
    created = lease_writes(emulator)[0]
    assert (created["method"], created["path"], created["status"]) == (
        "POST",
        f"/upload/storage/v1/b/{LOCKS}/o",
        200,
    )
    assert "uploadType=multipart" in created["query"]
    assert "ifGenerationMatch=0" in created["query"]
    made = lease_object(google)
    assert (made["size"], made["contentType"]) == ("0", "text/plain")
    assert made["metadata"]["state"] == "free"


def test_lease_is_released_after_a_failure(
    cli: CliFn, leased: Path, emulator: RunningEmulator, google: Any
) -> None:
    relabel(leased, "prod")
    set_faults(
        emulator,
        rules=[{"api": "cloudresourcemanager", "method_id": "projects.patch", "status": 400}],
    )
    failed = cli("apply", leased, "--yes")
    assert failed.exit_code == 1, failed.output
    assert "Apply failed" in failed.output
    set_faults(emulator, rules=[])
    assert lease_object(google)["metadata"]["state"] == "free"
    # and the next run takes it again and finishes the job
    assert cli("apply", leased, "--yes").exit_code == 0
    assert labels(google)["env"] == "prod"


def test_a_held_lease_refuses_a_second_apply_naming_its_holder(
    cli: CliFn, leased: Path, emulator: RunningEmulator, google: Any
) -> None:
    expires = datetime.now(UTC) + timedelta(minutes=10)
    plant_lease(google, holder="serviceAccount:ci@example.iam.gserviceaccount.com", expires=expires)
    relabel(leased, "prod")
    clear_journal(emulator)
    refused = cli("apply", leased, "--yes", "--lease-wait", "0.3")
    assert refused.exit_code == 1, refused.output
    assert "another apply is running on this project" in refused.stderr
    assert "held by serviceAccount:ci@example.iam.gserviceaccount.com (run 0123456789ab)" in (
        refused.stderr
    )
    assert expires.strftime("until %Y-%m-%dT%H:%M:%SZ") in refused.stderr
    assert "provision force-unlock BLUEPRINT 0123456789ab" in refused.stderr
    assert [e for e in journal(emulator) if e["mutating"] and e["status"] < 400] == []
    assert labels(google)["env"] == "test"
    assert lease_object(google)["metadata"]["runId"] == "0123456789ab"


def test_an_expired_lease_is_taken_over(
    cli: CliFn, leased: Path, emulator: RunningEmulator, google: Any
) -> None:
    plant_lease(google, holder="user:crashed@example.com", expires=datetime.now(UTC) - timedelta(1))
    relabel(leased, "prod")
    applied = cli("apply", leased, "--yes")
    assert applied.exit_code == 0, applied.output
    assert "took over the expired lease of user:crashed@example.com" in applied.stderr
    assert lease_object(google)["metadata"]["state"] == "free"
    assert labels(google)["env"] == "prod"


def test_a_saved_plan_takes_the_lease_and_releases_it_when_stale(
    cli: CliFn, leased: Path, emulator: RunningEmulator, google: Any, tmp_path: Path
) -> None:
    relabel(leased, "prod")
    saved = tmp_path / "plan.json"
    assert cli("plan", leased, "--out", saved).exit_code == 0
    clear_journal(emulator)
    assert cli("apply", saved).exit_code == 0
    assert [e["method_id"] for e in lease_writes(emulator)] == ["objects.insert", "objects.patch"]
    assert labels(google)["env"] == "prod"
    # the same plan again is stale: refused under the lease, which is released
    stale = cli("apply", saved)
    assert stale.exit_code != 0
    assert "stale" in stale.output
    assert lease_object(google)["metadata"]["state"] == "free"


def apply_process(blueprint: Path, emulator: RunningEmulator) -> subprocess.Popen[str]:
    env = {**os.environ, **FAST_ENV, "PROVISION_ENDPOINT": emulator.base_url}
    args = ["apply", str(blueprint), "--yes", "--lease-wait", "60"]
    return subprocess.Popen(
        [sys.executable, "-m", "provision.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_concurrent_applies_never_interleave_writes(
    cli: CliFn, leased: Path, emulator: RunningEmulator, google: Any, tmp_path: Path
) -> None:
    # Two blueprints for the same project that want different labels: both must write.
    other = tmp_path / "other.yaml"
    other.write_text(blueprint_text("staging"), encoding="utf-8")
    relabel(leased, "prod")
    clear_journal(emulator)
    # The emulator answers slowly, so the two runs overlap in time.
    set_faults(emulator, latency_ms=150)
    runs = [apply_process(leased, emulator), apply_process(other, emulator)]
    outputs = [run.communicate(timeout=120) for run in runs]
    set_faults(emulator, latency_ms=0)
    for run, (stdout, stderr) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, stdout + stderr
    # One run waited and then saw the other's change: it planned again under the lease.
    assert any("changed while waiting for the lease" in out for out, _ in outputs), outputs

    held = [e for e in lease_writes(emulator) if e["status"] < 400]
    # acquire, release, acquire, release: never two holders
    assert len(held) == 4, held
    assert held[0]["method_id"] == "objects.insert"
    windows = [(held[0]["start"], held[1]["start"]), (held[2]["start"], held[3]["start"])]
    assert windows[0][1] < windows[1][0]
    writes = [e for e in resource_writes(emulator) if e["status"] < 400]
    assert writes
    for entry in writes:
        assert any(begin < entry["start"] < end for begin, end in windows), entry
    # each window holds writes (both runs wrote), and the labels are those of the run that waited
    for begin, end in windows:
        assert any(begin < e["start"] < end for e in writes)
    waited = [i for i, (out, _) in enumerate(outputs) if "changed while waiting" in out]
    assert labels(google)["env"] == ["prod", "staging"][waited[0]]


def test_ctrl_c_releases_the_lease(
    cli: CliFn, leased: Path, emulator: RunningEmulator, google: Any
) -> None:
    relabel(leased, "prod")
    set_faults(emulator, latency_ms=300)
    run = apply_process(leased, emulator)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if lease_object(google)["metadata"]["state"] == "held":
                    break
            except HttpError:
                pass
            time.sleep(0.05)
        else:
            raise AssertionError("the apply never took the lease")
        run.send_signal(signal.SIGINT)
        stdout, stderr = run.communicate(timeout=60)
    finally:
        set_faults(emulator, latency_ms=0)
        if run.poll() is None:
            run.kill()
    assert run.returncode == 130, stdout + stderr
    assert lease_object(google)["metadata"]["state"] == "free"


def test_a_run_whose_lease_was_taken_over_learns_it_at_renewal(
    leased: Path, emulator: RunningEmulator, google: Any
) -> None:
    api = GoogleApi(Target(endpoint=emulator.base_url, label="emulator"))
    site = Site(LOCKS, LEASE, ttl=0.6)
    lease = Lease(api, site, run_id="aaaaaaaaaaaa", holder="user:first@example.com")
    lost: list[LeaseLostError] = []
    with holding(lease, lease.peek(), on_lost=lost.append) as held:
        assert held.trusted
        first = lease_object(google)
        time.sleep(0.5)  # renewed once (every ttl/3) meanwhile
        assert int(lease_object(google)["metageneration"]) > int(first["metageneration"])
        # another run takes it over (as after an expiry)
        other = Lease(api, site, run_id="bbbbbbbbbbbb", holder="user:second@example.com")
        for _ in range(5):  # a renewal may land between the read and the take-over
            try:
                taken = other.acquire(replace(other.peek(), expires=0.0))
                break
            except LeaseHeldError:
                continue
        else:
            raise AssertionError("could not take the lease over")
        deadline = time.monotonic() + 5
        while not lost and time.monotonic() < deadline:
            time.sleep(0.05)
        assert lost and "lost the lease" in str(lost[0])
    # releasing a lease no longer ours leaves the new holder's lease alone
    assert lease_object(google)["metadata"]["runId"] == "bbbbbbbbbbbb"
    assert other.release(taken)


def test_a_bucket_holding_only_the_lease_counts_as_empty(
    cli: CliFn, leased: Path, emulator: RunningEmulator, google: Any
) -> None:
    relabel(leased, "prod")
    assert cli("apply", leased, "--yes").exit_code == 0
    assert lease_object(google)["metadata"]["state"] == "free"
    removed = cli("destroy", leased, "--yes")
    assert removed.exit_code == 0, removed.output
    assert "holds objects" not in removed.output
    with pytest.raises(HttpError) as gone:
        google("storage", "v1").buckets().get(bucket=LOCKS).execute()
    assert gone.value.resp.status == 404


def test_destroy_takes_the_lease_too(
    cli: CliFn, leased: Path, emulator: RunningEmulator, google: Any
) -> None:
    expires = datetime.now(UTC) + timedelta(minutes=10)
    plant_lease(google, holder="user:someone@example.com", expires=expires)
    refused = cli("destroy", leased, "--yes")
    assert refused.exit_code == 1, refused.output
    assert "held by user:someone@example.com" in refused.stderr
    assert google("storage", "v1").buckets().get(bucket=LOCKS).execute()["name"] == LOCKS


def dead_pid() -> int:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


def test_the_lease_of_a_dead_process_elsewhere_is_not_taken_over(
    cli: CliFn, leased: Path, emulator: RunningEmulator, google: Any
) -> None:
    boot_id, pid_ns = this_machine()
    expires = datetime.now(UTC) + timedelta(minutes=10)
    relabel(leased, "prod")
    for machine in (("", ""), (boot_id, "pid:[1]"), ("another-boot", pid_ns)):
        # no boot id and namespace (an older lease), another PID namespace (a container), or
        # another boot: the PID means nothing here, so the holder may well be running
        plant_lease(
            google,
            holder="user:elsewhere@example.com",
            expires=expires,
            host=socket.gethostname(),
            pid=dead_pid(),
            machine=machine,
        )
        clear_journal(emulator)
        refused = cli("apply", leased, "--yes")
        assert refused.exit_code == 1, refused.output
        assert "held by user:elsewhere@example.com" in refused.stderr
        assert resource_writes(emulator) == [] and lease_writes(emulator) == []
    assert labels(google)["env"] == "test"


def test_a_second_apply_in_another_pid_namespace_does_not_take_a_live_lease(
    leased: Path, emulator: RunningEmulator, google: Any
) -> None:
    if (
        shutil.which("unshare") is None
        or subprocess.run(
            ["unshare", "--pid", "--fork", "true"], capture_output=True, check=False
        ).returncode
    ):
        pytest.skip("cannot make a PID namespace here (unshare --pid)")
    api = GoogleApi(Target(endpoint=emulator.base_url, label="emulator"))
    running = Lease(api, Site(LOCKS, LEASE), run_id="aaaaaaaaaaaa", holder="user:first@example.com")
    held = running.acquire(running.peek())  # this process, alive, holds the lease
    relabel(leased, "prod")
    clear_journal(emulator)
    env = {**os.environ, **FAST_ENV, "PROVISION_ENDPOINT": emulator.base_url}
    command = [sys.executable, "-m", "provision.cli", "apply", str(leased), "--yes"]
    second = subprocess.run(
        ["unshare", "--pid", "--fork", *command],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert second.returncode == 1, second.stdout + second.stderr
    assert "held by user:first@example.com (run aaaaaaaaaaaa)" in second.stderr
    assert resource_writes(emulator) == []
    assert lease_object(google)["metadata"]["runId"] == "aaaaaaaaaaaa"
    assert running.release(held)


def test_the_lease_of_a_dead_process_on_this_host_is_taken_over_at_once(
    cli: CliFn, leased: Path, emulator: RunningEmulator, google: Any
) -> None:
    expires = datetime.now(UTC) + timedelta(minutes=10)
    plant_lease(
        google,
        holder="user:killed@example.com",
        expires=expires,
        host=socket.gethostname(),
        pid=dead_pid(),
        machine=this_machine(),
    )
    relabel(leased, "prod")
    applied = cli("apply", leased, "--yes")
    assert applied.exit_code == 0, applied.output
    assert "took over the lease of user:killed@example.com: its process is gone" in applied.stderr
    assert labels(google)["env"] == "prod"
    # a live holder on this host is waited for, not taken over
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        plant_lease(
            google,
            holder="user:alive@example.com",
            expires=expires,
            host=socket.gethostname(),
            pid=alive.pid,
            machine=this_machine(),
        )
        relabel(leased, "staging")
        refused = cli("apply", leased, "--yes")
    finally:
        alive.kill()
        alive.wait()
    assert refused.exit_code == 1 and "held by user:alive@example.com" in refused.stderr


def test_force_unlock_frees_the_lease_of_the_named_run_only(
    cli: CliFn, leased: Path, emulator: RunningEmulator, google: Any
) -> None:
    never = cli("force-unlock", leased, "0123456789ab", "--yes")
    assert never.exit_code == 0, never.output
    assert "is not held; nothing to do" in never.stdout

    plant_lease(google, holder="user:crashed@example.com", expires=datetime.now(UTC) + timedelta(1))
    clear_journal(emulator)
    wrong = cli("force-unlock", leased, "ffffffffffff", "--yes")
    assert wrong.exit_code == 1
    assert "held by user:crashed@example.com (run 0123456789ab)" in wrong.stderr
    assert "not by run ffffffffffff; nothing was changed" in wrong.stderr
    unasked = cli("force-unlock", leased, "0123456789ab")  # stdin is not a terminal
    assert unasked.exit_code == 1
    assert "refusing to force-unlock without confirmation" in unasked.stderr
    assert lease_writes(emulator) == []

    freed = cli("force-unlock", leased, "0123456789ab", "--yes")
    assert freed.exit_code == 0, freed.output
    assert f"Lease gs://{LOCKS}/{LEASE} freed; it was held by user:crashed@example.com" in (
        freed.stdout
    )
    assert lease_object(google)["metadata"]["state"] == "free"
    assert resource_writes(emulator) == []
    relabel(leased, "prod")
    applied = cli("apply", leased, "--yes")
    assert applied.exit_code == 0, applied.output
    assert "took over" not in applied.stderr


def test_a_run_whose_lease_was_force_unlocked_learns_it_at_renewal(
    leased: Path, emulator: RunningEmulator, google: Any
) -> None:
    api = GoogleApi(Target(endpoint=emulator.base_url, label="emulator"))
    site = Site(LOCKS, LEASE)
    running = Lease(api, site, run_id="aaaaaaaaaaaa", holder="user:first@example.com")
    held = running.acquire(running.peek())
    other = Lease(api, site, run_id="bbbbbbbbbbbb", holder="user:admin@example.com")
    stale = other.peek()
    assert stale.run_id == "aaaaaaaaaaaa"
    running.renew(held)
    assert not other.force_release(stale)  # renewed since that read: left alone
    assert lease_object(google)["metadata"]["state"] == "held"
    assert other.force_release(other.peek())
    with pytest.raises(LeaseLostError):
        running.renew(held)


def test_a_lease_write_whose_answer_was_lost_still_counts(
    cli: CliFn, leased: Path, emulator: RunningEmulator, google: Any
) -> None:
    # the patch commits, its connection drops, the retry is refused (412): the read-back shows
    # the change was ours
    lost_answer = {"method_id": "objects.patch", "status": 0, "after_commit": True, "times": 1}
    plant_lease(google, holder="user:crashed@example.com", expires=datetime.now(UTC) + timedelta(1))
    set_faults(emulator, rules=[lost_answer])
    freed = cli("force-unlock", leased, "0123456789ab", "--yes")
    assert freed.exit_code == 0, freed.output
    assert lease_object(google)["metadata"]["state"] == "free"
    assert [e["status"] for e in lease_writes(emulator)][-2:] == [500, 412]

    api = GoogleApi(Target(endpoint=emulator.base_url, label="emulator"))
    lease = Lease(api, Site(LOCKS, LEASE), run_id="aaaaaaaaaaaa", holder="user:me@example.com")
    held = lease.acquire(lease.peek())
    set_faults(emulator, rules=[lost_answer])
    lease.renew(held)  # not taken for a lost lease
    assert int(lease_object(google)["metageneration"]) == held.metageneration
    assert lease.release(held)


def test_force_unlock_without_a_lease_has_nothing_to_do(cli: CliFn, tmp_path: Path) -> None:
    path = tmp_path / "no-buckets.yaml"
    text = blueprint_text("test").split("buckets:")[0]
    path.write_text(text, encoding="utf-8")
    result = cli("force-unlock", path, "0123456789ab", "--yes")
    assert result.exit_code == 0, result.output
    assert "Nothing to unlock (no lease: the blueprint declares no bucket" in result.stdout
