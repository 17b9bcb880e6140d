"""The lease's pure parts: where it lives, when it is free, how expiry is written and read,
when a holder's process can be judged gone."""

from __future__ import annotations

import os

import pytest

from provision.gcp.api import GoogleApi
from provision.gcp.credentials import Target
from provision.lease import (
    Lease,
    Seen,
    Site,
    _parse,
    _stamp,
    choose_site,
    object_name,
    this_machine,
)
from provision.permissions import LEASE_NEEDS


@pytest.mark.parametrize(
    ("bucket", "declared", "expected"),
    [
        ("locks", ["a", "b"], "locks"),
        (None, ["a", "b"], "a"),
        ("locks", [], "locks"),
        (None, [], None),
    ],
)
def test_choose_site(bucket: str | None, declared: list[str], expected: str | None) -> None:
    site = choose_site("p-1", bucket=bucket, declared_buckets=declared, ttl=60)
    if expected is None:
        assert site is None
    else:
        assert site == Site(expected, "provision-locks/p-1.lease", 60)
        assert str(site) == f"gs://{expected}/provision-locks/p-1.lease"


@pytest.mark.parametrize(
    ("imports", "expected"),
    [
        (["gs://a/dicom/**.dcm"], "b"),  # a bucket no import reads comes first
        (["gs://a/**", "gs://b/dicom/*.dcm"], "c"),
        (["gs://a/**", "gs://b/dicom/*.dcm", "gs://c/*"], "b"),  # else one whose imports
        (["gs://a/dicom/**", "gs://b/**", "gs://c/**"], "a"),  # cannot read the lease
        (["gs://a/provision-locks/*", "gs://b/**", "gs://c/???????????????/p-1.lease"], None),
    ],
)
def test_the_lease_avoids_buckets_whose_imports_would_read_it(
    imports: list[str], expected: str | None
) -> None:
    site = choose_site("p-1", bucket=None, declared_buckets=["a", "b", "c"], import_uris=imports)
    assert (site.bucket if site else None) == expected


MACHINE = ("boot-1", "pid:[4026531836]")


def lease_on(host: str = "host-a", machine: tuple[str, str] = MACHINE) -> Lease:
    api = GoogleApi(Target(endpoint="http://127.0.0.1:9", label="nowhere"))
    return Lease(
        api,
        Site("b", object_name("p-1")),
        run_id="r2",
        holder="me",
        host=host,
        pid=200,
        alive=lambda pid: False,  # every holder's process is gone
        machine=machine,
    )


@pytest.mark.parametrize(
    ("holder", "taken"),
    [
        ({"host": "host-a", "boot_id": "boot-1", "pid_ns": "pid:[4026531836]"}, True),
        ({"host": "host-a", "boot_id": "boot-1", "pid_ns": "pid:[4026532177]"}, False),
        ({"host": "host-a", "boot_id": "boot-2", "pid_ns": "pid:[4026531836]"}, False),
        ({"host": "host-b", "boot_id": "boot-1", "pid_ns": "pid:[4026531836]"}, False),
        ({"host": "host-a"}, False),  # a lease that does not say where it ran
        ({"host": "host-a", "boot_id": "", "pid_ns": ""}, False),
    ],
)
def test_a_holder_is_judged_gone_only_in_this_machine_and_pid_namespace(
    holder: dict[str, str], taken: bool
) -> None:
    seen = Seen(1, 2, "held", "r1", "them", expires=4_000_000_000.0, pid=100, **holder)
    why = lease_on()._why_free(seen, 1_800_000_000.0)
    assert why == ("its process is gone" if taken else None)


def test_without_proc_no_holder_is_judged_by_its_pid() -> None:
    seen = Seen(1, 2, "held", "r1", "them", expires=4_000_000_000.0, host="host-a", pid=100)
    assert lease_on(machine=("", ""))._why_free(seen, 1_800_000_000.0) is None


def test_this_machine_reads_the_boot_id_and_the_pid_namespace() -> None:
    boot_id, pid_ns = this_machine()
    if not os.path.exists("/proc/self/ns/pid"):
        pytest.skip("no /proc: not Linux")
    assert len(boot_id) == 36 and pid_ns.startswith("pid:[")


@pytest.mark.parametrize(
    ("seen", "now", "free"),
    [
        (Seen(), 100.0, True),
        (Seen(1, 1, "free"), 100.0, True),
        (Seen(1, 2, "held", "r", "h", expires=200.0), 100.0, False),
        (Seen(1, 2, "held", "r", "h", expires=200.0), 200.0, True),
        (Seen(1, 2, "held", "r", "h", expires=0.0), 100.0, True),
    ],
)
def test_free_at(seen: Seen, now: float, free: bool) -> None:
    assert seen.free_at(now) is free


def test_expiry_round_trips_and_garbage_reads_as_expired() -> None:
    assert _parse(_stamp(1_800_000_000.25)) == pytest.approx(1_800_000_000.25)
    assert _parse("") == 0.0
    assert _parse("tomorrow") == 0.0
    held = Seen(1, 1, "held", "abc", "user:x@example.com", 1_800_000_000.0)
    assert held.describe() == "held by user:x@example.com (run abc) until 2027-01-15T08:00:00Z"
    assert object_name("my-proj") == "provision-locks/my-proj.lease"


def test_the_lease_needs_storage_object_permissions() -> None:
    need = LEASE_NEEDS
    assert need.role.startswith("roles/storage.")
    assert all(p.startswith("storage.objects.") for p in need.existing + need.create)
