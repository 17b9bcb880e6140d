"""The lease's pure parts: where it lives, when it is free, how expiry is written and read."""

from __future__ import annotations

import pytest

from provision.lease import Seen, Site, _parse, _stamp, choose_site, object_name
from provision.permissions import NEEDS


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


def test_every_permission_names_its_service() -> None:
    prefixes = ("resourcemanager.", "billing.", "serviceusage.", "healthcare.", "storage.")
    for kind, need in NEEDS.items():
        assert need.role.startswith("roles/"), kind
        for permission in need.existing + need.create:
            assert permission.startswith(prefixes), (kind, permission)
