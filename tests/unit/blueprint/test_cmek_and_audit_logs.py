"""Blueprint -> CMEK and audit log resources: the key ring, key and the service agent's derived
encrypter grant the dataset waits for, the derived service, and the project's audit configs;
and the errors (file, line, field) of keys in the wrong place and malformed audit logs."""

from __future__ import annotations

from pathlib import Path

from provision.blueprint.expand import expand
from provision.blueprint.loader import load
from provision.model import Address, Resource
from provision.resources import addresses
from tests.unit.blueprint.conftest import Files, errors

PID = "imaging-test-1"
AGENT = (
    f"serviceAccount:service-${{project_number:{PID}}}@gcp-sa-healthcare.iam.gserviceaccount.com"
)
RING = addresses.key_ring(PID, "us-central1", "imaging")
KEY = addresses.crypto_key(RING.name, "datasets")
DATASET = addresses.dataset(PID, "us-central1", "imaging")

BLUEPRINT = f"""\
project:
  id: {PID}
services:
  - healthcare.googleapis.com
keyRings:
  - id: imaging
    location: us-central1
    cryptoKeys:
      - id: datasets
        rotationPeriod: 7776000s
datasets:
  - id: imaging
    location: us-central1
    encryptionSpec:
      kmsKeyName: {KEY.name}
auditLogs:
  - service: healthcare.googleapis.com
    logTypes: [ADMIN_READ, DATA_READ]
    exemptedMembers:
      DATA_READ: [user:etl@example.com]
  - service: healthcare.googleapis.com
    logTypes: [DATA_READ, DATA_WRITE]
    exemptedMembers:
      DATA_READ: [user:bob@example.com]
"""


def expanded(path: Path) -> dict[Address, Resource]:
    return {r.address: r for r in expand(load(path))}


def test_a_cmek_dataset_waits_for_the_agents_grant_on_its_declared_key(files: Files) -> None:
    got = expanded(files.write("bp.yaml", BLUEPRINT))
    grant = addresses.crypto_key_iam(KEY.name)
    agent = addresses.service_agent(PID, "healthcare.googleapis.com")
    assert got[DATASET].spec["encryptionSpec"] == {"kmsKeyName": KEY.name}
    assert grant in got[DATASET].depends_on
    assert got[grant].spec == {
        "bindings": [{"role": "roles/cloudkms.cryptoKeyEncrypterDecrypter", "members": [AGENT]}],
        "keyDeclared": True,
    }
    assert set(got[grant].depends_on) == {
        KEY,
        agent,
        addresses.project(PID),
        addresses.services(PID),
    }
    assert agent in got, "the agent is derived when the blueprint does not declare it"
    assert got[KEY].depends_on == (RING,)
    assert got[KEY].spec["rotationPeriod"] == "7776000s"
    assert "cloudkms.googleapis.com" in got[addresses.services(PID)].spec["services"]


def test_a_key_of_another_project_is_granted_on_without_declaring_it(files: Files) -> None:
    key = "projects/security-keys/locations/us-central1/keyRings/hc/cryptoKeys/imaging"
    text = BLUEPRINT.replace(KEY.name, key).split("keyRings:")[0] + (
        "datasets:\n  - id: imaging\n    location: us-central1\n    encryptionSpec:\n"
        f"      kmsKeyName: {key}\n"
    )
    got = expanded(files.write("bp.yaml", text))
    grant = got[addresses.crypto_key_iam(key)]
    assert grant.spec["keyDeclared"] is False
    assert grant.depends_on == (addresses.service_agent(PID, "healthcare.googleapis.com"),)
    assert "cloudkms.googleapis.com" not in got[addresses.services(PID)].spec["services"]


def test_audit_logs_of_one_service_are_merged(files: Files) -> None:
    got = expanded(files.write("bp.yaml", BLUEPRINT))
    audit = got[addresses.project_audit(PID)]
    assert audit.depends_on == (addresses.project(PID),)
    assert audit.spec["auditConfigs"] == [
        {
            "service": "healthcare.googleapis.com",
            "auditLogConfigs": [
                {"logType": "ADMIN_READ"},
                {
                    "logType": "DATA_READ",
                    "exemptedMembers": ["user:etl@example.com", "user:bob@example.com"],
                },
                {"logType": "DATA_WRITE"},
            ],
        }
    ]


def test_a_key_outside_the_datasets_location_is_an_error_naming_the_field(files: Files) -> None:
    path = files.write(
        "bp.yaml",
        BLUEPRINT.replace("locations/us-central1/keyRings", "locations/europe-west4/keyRings"),
    )
    found = errors(path)
    assert [(d.path, d.line) for d in found] == [("datasets[0].encryptionSpec.kmsKeyName", 15)]
    assert "only a key in the dataset's own location" in found[0].message


def test_an_undeclared_key_of_a_declared_ring_is_an_error(files: Files) -> None:
    path = files.write("bp.yaml", BLUEPRINT.replace("cryptoKeys/datasets", "cryptoKeys/other"))
    found = errors(path)
    assert [d.path for d in found] == ["datasets[0].encryptionSpec.kmsKeyName"]
    assert "has no key 'other' (its keys: datasets)" in found[0].message


def test_malformed_keys_and_audit_logs_are_errors(files: Files) -> None:
    text = (
        BLUEPRINT.replace("cryptoKeys/datasets", "keys/datasets")
        .replace("7776000s", "3600s")
        .replace("logTypes: [DATA_READ, DATA_WRITE]", "logTypes: [DATA_WRITE, DATA_WRITE]")
    )
    found = {d.path: d.message for d in errors(files.write("bp.yaml", text))}
    assert "Cloud KMS key" in found["datasets[0].encryptionSpec.kmsKeyName"]
    assert "rotation period '3600s' is invalid" in found["keyRings[0].cryptoKeys[0].rotationPeriod"]
    assert "DATA_WRITE is listed twice" in found["auditLogs[1].logTypes[1]"]
    assert "DATA_READ is not one of logTypes" in found["auditLogs[1].exemptedMembers.DATA_READ"]
