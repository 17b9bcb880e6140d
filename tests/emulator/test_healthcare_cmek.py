"""Healthcare datasets with a customer-managed encryption key: the key must exist in the
dataset's location and the Healthcare service agent must be able to use it; the spec is
immutable."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from googleapiclient.discovery import Resource
from googleapiclient.errors import HttpError

from provision.emulator.server import RunningEmulator
from tests.emulator.clients import error_body
from tests.emulator.seeding import client, healthcare_client, seed_project

PROJECT = "cmek-test"
LOCATION = f"projects/{PROJECT}/locations/us-central1"
RING = f"{LOCATION}/keyRings/phi"
KEY = f"{RING}/cryptoKeys/datasets"
ROLE = "roles/cloudkms.cryptoKeyEncrypterDecrypter"


@dataclass
class Setup:
    emulator: RunningEmulator
    hc: Resource
    kms: Resource
    agent: str


@pytest.fixture
def setup(emulator: RunningEmulator) -> Setup:
    services = ("healthcare.googleapis.com", "cloudkms.googleapis.com")
    number = seed_project(emulator.world, PROJECT, services=services)
    kms = client(emulator, "cloudkms", "v1")
    rings = kms.projects().locations().keyRings()
    for location in ("us-central1", "europe-west4"):
        parent = f"projects/{PROJECT}/locations/{location}"
        rings.create(parent=parent, keyRingId="phi", body={}).execute()
        body = {"purpose": "ENCRYPT_DECRYPT"}
        rings.cryptoKeys().create(
            parent=f"{parent}/keyRings/phi", cryptoKeyId="datasets", body=body
        ).execute()
    agent = f"serviceAccount:service-{number}@gcp-sa-healthcare.iam.gserviceaccount.com"
    return Setup(emulator, healthcare_client(emulator), kms, agent)


def _grant(setup: Setup, resource: str = KEY) -> None:
    rings = setup.kms.projects().locations().keyRings()
    target = rings.cryptoKeys() if "/cryptoKeys/" in resource else rings
    policy = {"bindings": [{"role": ROLE, "members": [setup.agent]}]}
    target.setIamPolicy(resource=resource, body={"policy": policy}).execute()


def _datasets(setup: Setup) -> Any:
    return setup.hc.projects().locations().datasets()


def _create(setup: Setup, key: str = KEY) -> dict[str, Any]:
    body = {"encryptionSpec": {"kmsKeyName": key}}
    started: dict[str, Any] = (
        _datasets(setup).create(parent=LOCATION, datasetId="clinical", body=body).execute()
    )
    operations = _datasets(setup).operations()
    finished: dict[str, Any] = operations.get(name=started["name"]).execute()
    return finished


def _refused(setup: Setup, key: str = KEY) -> tuple[int, dict[str, Any]]:
    with pytest.raises(HttpError) as refused:
        _create(setup, key)
    return refused.value.resp.status, error_body(refused.value)["error"]


def test_without_the_agents_grant_the_dataset_is_refused(setup: Setup) -> None:
    status, error = _refused(setup)
    assert (status, error["status"]) == (403, "PERMISSION_DENIED")
    assert "cloudkms.cryptoKeyVersions.useToEncrypt" in error["message"]
    assert setup.agent.removeprefix("serviceAccount:") in error["message"]
    assert _datasets(setup).list(parent=LOCATION).execute() == {}, "nothing was created"


def test_a_key_that_does_not_exist_is_refused_alike(setup: Setup) -> None:
    _grant(setup)
    status, error = _refused(setup, f"{RING}/cryptoKeys/missing")
    assert (status, error["status"]) == (403, "PERMISSION_DENIED")


def test_with_the_grant_the_dataset_carries_its_key(setup: Setup) -> None:
    _grant(setup)
    finished = _create(setup)
    assert finished["response"]["encryptionSpec"] == {"kmsKeyName": KEY}
    dataset = _datasets(setup).get(name=f"{LOCATION}/datasets/clinical").execute()
    assert dataset["encryptionSpec"] == {"kmsKeyName": KEY}


def test_a_grant_on_the_key_ring_is_inherited(setup: Setup) -> None:
    _grant(setup, RING)
    assert _create(setup)["response"]["encryptionSpec"] == {"kmsKeyName": KEY}


def test_a_fresh_grant_counts_only_once_in_effect(setup: Setup) -> None:
    setup.emulator.world.configure({"iam_effect_delay_s": 600.0})
    _grant(setup)
    status, _ = _refused(setup)
    assert status == 403
    world = setup.emulator.world
    clock = world.clock
    world.clock = lambda: clock() + 601
    try:
        assert "response" in _create(setup)
    finally:
        world.clock = clock


def test_the_key_must_be_in_the_datasets_location(setup: Setup) -> None:
    _grant(setup, "projects/cmek-test/locations/europe-west4/keyRings/phi/cryptoKeys/datasets")
    other = "projects/cmek-test/locations/europe-west4/keyRings/phi/cryptoKeys/datasets"
    status, error = _refused(setup, other)
    assert (status, error["status"]) == (400, "INVALID_ARGUMENT")
    assert "same location" in error["message"]
    status, _ = _refused(setup, "keys/datasets")
    assert status == 400


def test_a_key_whose_primary_is_destroyed_cannot_encrypt(setup: Setup) -> None:
    _grant(setup)
    versions = setup.kms.projects().locations().keyRings().cryptoKeys().cryptoKeyVersions()
    versions.destroy(name=f"{KEY}/cryptoKeyVersions/1", body={}).execute()
    status, error = _refused(setup)
    assert (status, error["status"]) == (400, "FAILED_PRECONDITION")


def test_the_encryption_spec_cannot_be_patched(setup: Setup) -> None:
    _datasets(setup).create(parent=LOCATION, datasetId="clinical", body={}).execute()
    with pytest.raises(HttpError) as refused:
        _datasets(setup).patch(
            name=f"{LOCATION}/datasets/clinical",
            updateMask="encryptionSpec",
            body={"encryptionSpec": {"kmsKeyName": KEY}},
        ).execute()
    assert refused.value.resp.status == 400


def test_the_refusal_can_come_as_the_failed_operation(setup: Setup) -> None:
    setup.emulator.world.configure({"cmek_failure_in_operation": True})
    finished = _create(setup)
    assert finished["done"] is True
    assert finished["error"]["code"] == 7
    assert "useToEncrypt" in finished["error"]["message"]
    assert _datasets(setup).list(parent=LOCATION).execute() == {}, "nothing was created"
