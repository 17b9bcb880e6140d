"""End to end through the CLI on the emulator: a dataset encrypted with a customer-managed key
(CMEK) declared in the blueprint, the Cloud Healthcare Service Agent's encrypter grant on it
(derived), and Data Access audit logs. Out-of-band reads and writes use Google's discovery
clients."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from provision.blueprint.loader import load
from provision.blueprint.summary import summarize
from provision.emulator.server import RunningEmulator
from tests.e2e.conftest import CliFn, clear_journal, journal, mutations, set_faults

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "blueprints/examples/cmek-audit.yaml"
PROJECT = "e2e-imaging"
KEY = f"projects/{PROJECT}/locations/us-central1/keyRings/imaging/cryptoKeys/datasets"
DATASET = f"projects/{PROJECT}/locations/us-central1/datasets/imaging"
ENCRYPTER = "roles/cloudkms.cryptoKeyEncrypterDecrypter"

Google = Callable[[str, str], Any]


@pytest.fixture
def blueprint(tmp_path: Path) -> Path:
    """The CMEK and audit logs example, in the e2e project."""
    path = tmp_path / "cmek.yaml"
    text = EXAMPLE.read_text(encoding="utf-8").replace("my-imaging-project", PROJECT)
    path.write_text(text, encoding="utf-8")
    return path


def keys(google: Google) -> Any:
    return google("cloudkms", "v1").projects().locations().keyRings().cryptoKeys()


def key_members(google: Google, role: str) -> list[str]:
    policy = keys(google).getIamPolicy(resource=KEY).execute()
    return sorted(
        m for b in policy.get("bindings") or [] if b["role"] == role for m in b["members"]
    )


def project_policy(google: Google) -> Any:
    projects = google("cloudresourcemanager", "v3").projects()
    return projects.getIamPolicy(resource=f"projects/{PROJECT}", body={}).execute()


def agent(google: Google) -> str:
    found = google("cloudresourcemanager", "v3").projects().get(name=f"projects/{PROJECT}")
    number = str(found.execute()["name"]).split("/")[1]
    return f"serviceAccount:service-{number}@gcp-sa-healthcare.iam.gserviceaccount.com"


def test_the_example_blueprint_validates() -> None:
    loaded = load(EXAMPLE)
    assert loaded.blueprint.datasets[0].encryption_spec is not None
    assert [a.service for a in loaded.blueprint.audit_logs] == ["healthcare.googleapis.com"]
    assert summarize(loaded.blueprint).endswith("1 key ring, 1 crypto key, 1 audit log config")


@pytest.mark.parametrize("in_operation", [False, True], ids=["refused at once", "failed operation"])
def test_cmek_dataset_and_audit_logs_apply_converge_and_verify(
    cli: CliFn, blueprint: Path, emulator: RunningEmulator, google: Google, in_operation: bool
) -> None:
    # Google's IAM takes a while to take effect: the dataset's create waits for the grant,
    # whether Google refuses the create or fails its operation (which one is unverified).
    set_faults(emulator, iam_effect_delay_s=0.3, cmek_failure_in_operation=in_operation)
    applied = cli("apply", blueprint, "--yes")
    assert applied.exit_code == 0, applied.output
    assert "Apply complete: 10 done, 0 failed, 0 skipped." in applied.stdout
    creates = [e for e in journal(emulator) if e["method_id"].endswith(".datasets.create")]
    assert len(creates) > 1, "the first create came before the grant took effect"

    dataset = google("healthcare", "v1").projects().locations().datasets()
    assert dataset.get(name=DATASET).execute()["encryptionSpec"] == {"kmsKeyName": KEY}
    assert key_members(google, ENCRYPTER) == [agent(google)]
    services = google("serviceusage", "v1").services()
    enabled = services.get(name=f"projects/{PROJECT}/services/cloudkms.googleapis.com").execute()
    assert enabled["state"] == "ENABLED"
    configs = project_policy(google)["auditConfigs"]
    assert configs == [
        {
            "service": "healthcare.googleapis.com",
            "auditLogConfigs": [
                {"logType": "ADMIN_READ"},
                {
                    "logType": "DATA_READ",
                    "exemptedMembers": [f"serviceAccount:ingest@{PROJECT}.iam.gserviceaccount.com"],
                },
                {"logType": "DATA_WRITE"},
            ],
        }
    ]

    clear_journal(emulator)
    again = cli("plan", blueprint, "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert "No changes" in again.stdout
    assert mutations(emulator) == []

    verified = cli("verify", blueprint)
    assert verified.exit_code == 0, verified.output
    assert "PASS  encryption key" in verified.stdout and KEY in verified.stdout
    assert f"{ENCRYPTER} held" in verified.stdout and agent(google) in verified.stdout
    for log_type in ("ADMIN_READ", "DATA_READ", "DATA_WRITE"):
        assert f"healthcare.googleapis.com {log_type} audit logs" in verified.stdout

    shown = json.loads(cli("show", blueprint, "--format", "json").stdout)
    outputs = {o["address"]: o["outputs"] for o in shown["objects"]}
    assert outputs[f"healthcare.dataset:{DATASET}"] == {"kmsKeyName": KEY}
    assert outputs[f"kms.crypto_key:{KEY}"] == {"primary": "ENABLED", "rotationPeriod": "7776000s"}
    assert outputs[f"project_audit:projects/{PROJECT}"] == {
        "healthcare.googleapis.com": "ADMIN_READ, DATA_READ, DATA_WRITE"
    }


def test_an_encrypter_grant_removed_out_of_band_is_restored(
    cli: CliFn, blueprint: Path, google: Google
) -> None:
    assert cli("apply", blueprint, "--yes").exit_code == 0
    policy = keys(google).getIamPolicy(resource=KEY).execute()
    policy["bindings"] = [b for b in policy.get("bindings") or [] if b["role"] != ENCRYPTER]
    keys(google).setIamPolicy(resource=KEY, body={"policy": policy}).execute()

    failed = cli("verify", blueprint)
    assert failed.exit_code != 0
    assert f"FAIL  {ENCRYPTER} held" in failed.stdout

    planned = cli("plan", blueprint, "--detailed-exitcode")
    assert planned.exit_code == 2, planned.output
    assert f"~ kms.crypto_key_iam:{KEY}" in planned.stdout
    assert "Plan: 0 to create, 1 to update, 0 to delete" in planned.stdout
    assert cli("apply", blueprint, "--yes").exit_code == 0
    assert key_members(google, ENCRYPTER) == [agent(google)]
    assert cli("plan", blueprint, "--detailed-exitcode").exit_code == 0


def test_audit_logs_are_additive_and_survive_binding_writes(
    cli: CliFn, blueprint: Path, google: Google
) -> None:
    """Audit configs set out of band stay; the project's IAM bindings (written with Google's
    default mask, `bindings,etag`) leave the audit configs alone."""
    assert cli("apply", blueprint, "--yes").exit_code == 0
    projects = google("cloudresourcemanager", "v3").projects()
    policy = project_policy(google)
    policy["auditConfigs"].append(
        {"service": "storage.googleapis.com", "auditLogConfigs": [{"logType": "DATA_READ"}]}
    )
    projects.setIamPolicy(
        resource=f"projects/{PROJECT}",
        body={"policy": policy, "updateMask": "bindings,etag,auditConfigs"},
    ).execute()
    text = blueprint.read_text(encoding="utf-8") + (
        "iam:\n  - role: roles/viewer\n    members: [group:radiology@example.com]\n"
    )
    blueprint.write_text(text, encoding="utf-8")
    applied = cli("apply", blueprint, "--yes")
    assert applied.exit_code == 0, applied.output
    services = [c["service"] for c in project_policy(google)["auditConfigs"]]
    assert services == ["healthcare.googleapis.com", "storage.googleapis.com"]
    assert cli("plan", blueprint, "--detailed-exitcode").exit_code == 0


def test_a_changed_key_is_refused_saying_the_dataset_must_be_recreated(
    cli: CliFn, blueprint: Path
) -> None:
    assert cli("apply", blueprint, "--yes").exit_code == 0
    text = blueprint.read_text(encoding="utf-8")
    blueprint.write_text(
        text.replace("- id: datasets", "- id: datasets\n      - id: other").replace(
            "cryptoKeys/datasets", "cryptoKeys/other"
        ),
        encoding="utf-8",
    )
    planned = cli("plan", blueprint)
    assert planned.exit_code == 1, planned.output
    assert "encryptionSpec.kmsKeyName" in planned.stderr
    assert "The dataset must be recreated" in planned.stderr


def test_destroy_keeps_keys_the_agents_grant_and_audit_logs(
    cli: CliFn, blueprint: Path, google: Google
) -> None:
    assert cli("apply", blueprint, "--yes").exit_code == 0
    destroyed = cli("destroy", blueprint, "--yes")
    assert destroyed.exit_code == 0, destroyed.output
    assert f". kms.crypto_key:{KEY}  (forget)" in destroyed.stdout
    assert f". kms.crypto_key_iam:{KEY}  (forget)" in destroyed.stdout
    assert f". project_audit:projects/{PROJECT}  (forget)" in destroyed.stdout
    assert key_members(google, ENCRYPTER) == [agent(google)]
    assert project_policy(google)["auditConfigs"][0]["service"] == "healthcare.googleapis.com"
