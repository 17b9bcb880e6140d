"""`provision destroy` racing with data arriving: DICOM instances and files written into the
objects it removes, after each request it makes, are not deleted.

`destroy --site general` removes the site's store and bucket (owned and empty when planned) as a
real process; right after the emulator has answered its k-th request, a study is stored into the
store (STOW-RS) and a file uploaded into the bucket. The file must still be there afterwards,
unless its upload was refused because the bucket was gone already (Cloud Storage deletes only an
empty bucket). The study must still be there when it was stored before destroy's last search of
the store, which destroy makes under its lease, right before deleting the store; Healthcare has no
conditional delete, so a study stored in the instant between that search and the delete is not
protected (counted as `in the window`). `make test` injects right after planning (while a
confirmed destroy takes its lease) and the two requests after; `make faults` every boundary.
"""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from google.api_core.exceptions import NotFound
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from provision.emulator import samples
from provision.emulator.core.journal import Entry
from provision.emulator.dicomweb import instances
from provision.emulator.server import RunningEmulator
from tests.faults import harness
from tests.faults.test_kill import LATENCY_MS, cli_process

STORE = (
    f"projects/{harness.PROJECT}/locations/us-central1/datasets/general-imaging/"
    "dicomStores/general-dicom"
)
BUCKET = f"{harness.PROJECT}-general-import"
LATE = "dicom/late.dcm"
LEASE = "provision-locks"
"""Requests that write destroy's lease name this (URL-encoded in their path or query)."""


def stow(emulator: RunningEmulator) -> bool:
    """Store one instance into the site's store; False when the store is gone (404)."""
    sample = samples.generate(1, seed=5)[0]
    request = urllib.request.Request(
        f"{emulator.base_url}/v1/{STORE}/dicomWeb/studies",
        data=sample.data,
        method="POST",
        headers={"Content-Type": "application/dicom"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30):
            return True
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return False
        raise


def bucket(emulator: RunningEmulator) -> storage.Bucket:
    client = storage.Client(
        project=harness.PROJECT,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": emulator.base_url},
    )
    return client.bucket(BUCKET)


def upload(emulator: RunningEmulator) -> bool:
    """Upload one file into the site's bucket; False when the bucket is gone (404)."""
    try:
        bucket(emulator).blob(LATE).upload_from_string(b"DICM")
    except NotFound:
        return False
    return True


def destroy_process(emulator: RunningEmulator, blueprint: Path) -> subprocess.Popen[bytes]:
    return cli_process(emulator, "destroy", blueprint, "--site", "general", "--yes")


def lease_taken(entries: list[Entry]) -> float:
    """When destroy first wrote its lease (confirmed, right before its removals)."""
    writes = [e.start for e in entries if e.mutating and LEASE in e.path + e.query]
    return writes[0] if writes else float("inf")


def guarded(entries: list[Entry]) -> bool:
    """Whether the study stored must have been kept: it was stored before destroy's last search
    of the store under the lease began, or destroy made no such search (nothing checked the
    store again at the moment of deleting it)."""
    stows = [e for e in entries if e.method_id.endswith("storeInstances") and STORE in e.path]
    taken = lease_taken(entries)
    searches = [
        e.start
        for e in entries
        if e.method_id.endswith("searchForStudies") and STORE in e.path and e.start > taken
    ]
    if not stows:
        return False
    return not searches or stows[-1].start + stows[-1].ms / 1000 < searches[-1]


def boundaries(emulator: RunningEmulator, blueprint: Path) -> tuple[int, int]:
    """(requests an undisturbed `destroy --site general` makes, requests before its lease)."""
    harness.reset(emulator)
    assert harness.apply(blueprint, emulator).exit_code == 0
    emulator.world.journal.clear()
    destroy_process(emulator, blueprint).wait()
    entries = emulator.world.journal.entries()
    return len(entries), sum(1 for e in entries if e.start < lease_taken(entries))


@pytest.mark.parametrize("which", ["fast", pytest.param("slow", marks=pytest.mark.slow)])
def test_data_written_while_destroy_runs_is_not_deleted(
    which: str, emulator: RunningEmulator, blueprint: Path
) -> None:
    total, planned = boundaries(emulator, blueprint)
    assert 0 < planned < total
    fast = [k for k in (planned, planned + 1, planned + 2) if 0 < k < total]
    points = fast if which == "fast" else [k for k in range(1, total) if k not in fast]
    failures: list[str] = []
    for k in points:
        harness.reset(emulator)
        assert harness.apply(blueprint, emulator).exit_code == 0
        harness.control(emulator, "settings", {"latency_ms": LATENCY_MS})
        emulator.world.journal.clear()
        process = destroy_process(emulator, blueprint)
        while len(emulator.world.journal.entries()) < k and process.poll() is None:
            time.sleep(0.0005)
        stored, uploaded = stow(emulator), upload(emulator)
        process.wait(timeout=120)
        harness.control(emulator, "settings", {"latency_ms": 0})
        entries = emulator.world.journal.entries()
        kept = bool(instances.count(emulator.world, STORE))
        lost = []
        if stored and guarded(entries) and not kept:
            lost.append(f"the study stored into {STORE}")
        if uploaded and not bucket(emulator).blob(LATE).exists():
            lost.append(f"gs://{BUCKET}/{LATE}")
        window = int(stored and not kept and not guarded(entries))
        harness.FIGURES.add(runs=2, races=1, data_lost=len(lost), races_in_window=window)
        if lost:
            failures.append(f"data written after request {k} of {total} was deleted: {lost}")
    assert failures == [], "\n".join(failures)
