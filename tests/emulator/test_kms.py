"""Cloud KMS v1 on the emulator through the discovery client: key rings, crypto keys, versions
and IAM, with Google's errors."""

from __future__ import annotations

from typing import Any

import pytest
from googleapiclient.discovery import Resource
from googleapiclient.errors import HttpError

from provision.emulator.server import RunningEmulator
from tests.emulator.clients import error_body
from tests.emulator.seeding import client, seed_project

PROJECT = "kms-test"
LOCATION = f"projects/{PROJECT}/locations/us-central1"
RING = f"{LOCATION}/keyRings/ring"
KEY = f"{RING}/cryptoKeys/key"
ROLE = "roles/cloudkms.cryptoKeyEncrypterDecrypter"


@pytest.fixture
def kms(emulator: RunningEmulator) -> Resource:
    seed_project(emulator.world, PROJECT, services=("cloudkms.googleapis.com",))
    return client(emulator, "cloudkms", "v1")


def _rings(kms: Resource) -> Any:
    return kms.projects().locations().keyRings()


def _keys(kms: Resource) -> Any:
    return _rings(kms).cryptoKeys()


def _refused(request: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(HttpError) as refused:
        request.execute()
    return refused.value.resp.status, error_body(refused.value)["error"]


def _ring_and_key(kms: Resource) -> dict[str, Any]:
    _rings(kms).create(parent=LOCATION, keyRingId="ring", body={}).execute()
    key: dict[str, Any] = (
        _keys(kms)
        .create(parent=RING, cryptoKeyId="key", body={"purpose": "ENCRYPT_DECRYPT"})
        .execute()
    )
    return key


def test_a_key_ring_is_created_listed_and_its_id_stays_taken(kms: Resource) -> None:
    status, error = _refused(_rings(kms).get(name=RING))
    assert (status, error["message"]) == (404, f"KeyRing {RING} not found.")
    created = _rings(kms).create(parent=LOCATION, keyRingId="ring", body={}).execute()
    assert set(created) == {"name", "createTime"}
    assert created["name"] == RING
    assert _rings(kms).get(name=RING).execute() == created
    assert _rings(kms).list(parent=LOCATION).execute() == {"keyRings": [created], "totalSize": 1}
    status, error = _refused(_rings(kms).create(parent=LOCATION, keyRingId="ring", body={}))
    assert (status, error["status"]) == (409, "ALREADY_EXISTS")
    status, error = _refused(_rings(kms).create(parent=LOCATION, keyRingId="bad/id", body={}))
    assert status == 400


def test_an_encryption_key_has_an_enabled_primary_version(kms: Resource) -> None:
    key = _ring_and_key(kms)
    assert key["name"] == KEY
    assert key["purpose"] == "ENCRYPT_DECRYPT"
    assert key["versionTemplate"] == {
        "algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION",
        "protectionLevel": "SOFTWARE",
    }
    assert key["destroyScheduledDuration"] == "2592000s"
    assert key["primary"]["name"] == f"{KEY}/cryptoKeyVersions/1"
    assert key["primary"]["state"] == "ENABLED"
    assert _keys(kms).get(name=KEY).execute() == key
    listed = _keys(kms).list(parent=RING).execute()
    assert listed == {"cryptoKeys": [key], "totalSize": 1}
    status, error = _refused(
        _keys(kms).create(parent=RING, cryptoKeyId="key", body={"purpose": "ENCRYPT_DECRYPT"})
    )
    assert (status, error["status"]) == (409, "ALREADY_EXISTS")


def test_a_key_without_purpose_or_ring_is_refused(kms: Resource) -> None:
    status, error = _refused(_keys(kms).create(parent=RING, cryptoKeyId="key", body={}))
    assert (status, error["message"]) == (404, f"KeyRing {RING} not found.")
    _rings(kms).create(parent=LOCATION, keyRingId="ring", body={}).execute()
    status, _ = _refused(_keys(kms).create(parent=RING, cryptoKeyId="key", body={}))
    assert status == 400
    status, error = _refused(_keys(kms).get(name=f"{RING}/cryptoKeys/other"))
    assert (status, error["message"]) == (404, f"CryptoKey {RING}/cryptoKeys/other not found.")


def test_patch_changes_only_the_masked_fields(kms: Resource) -> None:
    _ring_and_key(kms)
    body = {"labels": {"env": "prod"}, "rotationPeriod": "7776000s", "purpose": "MAC"}
    patched = _keys(kms).patch(name=KEY, updateMask="labels,rotationPeriod", body=body).execute()
    assert patched["labels"] == {"env": "prod"}
    assert patched["rotationPeriod"] == "7776000s"
    assert patched["purpose"] == "ENCRYPT_DECRYPT"
    status, _ = _refused(_keys(kms).patch(name=KEY, updateMask="purpose", body=body))
    assert status == 400
    status, _ = _refused(_keys(kms).patch(name=KEY, body=body))
    assert status == 400


def test_a_version_is_scheduled_for_destruction_once(kms: Resource) -> None:
    _ring_and_key(kms)
    versions = _keys(kms).cryptoKeyVersions()
    name = f"{KEY}/cryptoKeyVersions/1"
    destroyed = versions.destroy(name=name, body={}).execute()
    assert destroyed["state"] == "DESTROY_SCHEDULED"
    assert "destroyTime" in destroyed
    assert versions.get(name=name).execute() == destroyed
    assert versions.list(parent=KEY).execute() == {"cryptoKeyVersions": [destroyed], "totalSize": 1}
    status, error = _refused(versions.destroy(name=name, body={}))
    assert (status, error["status"]) == (400, "FAILED_PRECONDITION")


def test_key_iam_grants_the_encrypter_role(emulator: RunningEmulator, kms: Resource) -> None:
    number = seed_project(emulator.world, "hc-kms", services=("healthcare.googleapis.com",))
    agent = f"serviceAccount:service-{number}@gcp-sa-healthcare.iam.gserviceaccount.com"
    _ring_and_key(kms)
    keys = _keys(kms)
    empty = keys.getIamPolicy(resource=KEY, options_requestedPolicyVersion=3).execute()
    assert set(empty) == {"etag"}
    policy = {"bindings": [{"role": ROLE, "members": [agent]}], "etag": empty["etag"]}
    stored = keys.setIamPolicy(resource=KEY, body={"policy": policy}).execute()
    assert stored["bindings"] == policy["bindings"]
    assert stored["version"] == 1
    assert keys.getIamPolicy(resource=KEY).execute() == stored
    status, error = _refused(keys.setIamPolicy(resource=KEY, body={"policy": policy}))
    assert (status, error["status"]) == (409, "ABORTED")
    ghost = {
        "bindings": [{"role": ROLE, "members": ["serviceAccount:no@x.iam.gserviceaccount.com"]}]
    }
    status, _ = _refused(keys.setIamPolicy(resource=KEY, body={"policy": ghost}))
    assert status == 400
    asked = {"permissions": ["cloudkms.cryptoKeys.get"]}
    assert keys.testIamPermissions(resource=KEY, body=asked).execute() == asked
    ring_policy = _rings(kms).getIamPolicy(resource=RING).execute()
    assert set(ring_policy) == {"etag"}, "a key's policy is its own, not its ring's"


def test_kms_needs_its_api_enabled(emulator: RunningEmulator) -> None:
    seed_project(emulator.world, "no-kms", services=("healthcare.googleapis.com",))
    kms = client(emulator, "cloudkms", "v1")
    parent = "projects/no-kms/locations/us-central1"
    status, error = _refused(_rings(kms).create(parent=parent, keyRingId="ring", body={}))
    assert status == 403
    assert error["details"][0]["reason"] == "SERVICE_DISABLED"
    assert error["details"][0]["metadata"]["service"] == "cloudkms.googleapis.com"
