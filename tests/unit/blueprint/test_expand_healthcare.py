"""Blueprint -> Healthcare, Storage and service-agent resources, with their dependencies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from provision.blueprint.expand import expand
from provision.blueprint.loader import load
from provision.errors import BlueprintError, PlanError
from provision.graph import topological
from provision.model import Address, Resource
from provision.resources import addresses
from tests.unit.blueprint.conftest import VALID, Files

PID = "imaging-test-1"
AGENT = (
    f"serviceAccount:service-${{project_number:{PID}}}@gcp-sa-healthcare.iam.gserviceaccount.com"
)
DATASET = addresses.dataset(PID, "us-central1", "imaging")
STORE = addresses.dicom_store(DATASET.name, "studies")


def expanded(path: Path) -> dict[Address, Resource]:
    resources = expand(load(path))
    return {r.address: r for r in resources}


def test_dependencies_run_from_services_to_store_iam(files: Files) -> None:
    path = files.write(
        "bp.yaml",
        VALID.replace(
            "      - id: studies\n",
            "      - id: studies\n        iam:\n          - role: roles/healthcare.dicomEditor\n"
            "            members: [user:alice@example.com]\n",
        ),
    )
    got = expanded(path)
    services = addresses.services(PID)
    project = addresses.project(PID)
    assert set(got[DATASET].depends_on) == {project, services}
    assert got[STORE].depends_on == (DATASET,)
    assert got[addresses.dicom_store_iam(DATASET.name, "studies")].depends_on == (STORE,)
    assert set(got[addresses.healthcare_location(PID, "us-central1")].depends_on) == {
        project,
        services,
    }
    bucket = addresses.bucket(f"{PID}-import")
    assert set(got[bucket].depends_on) == {project, services}
    agent = addresses.service_agent(PID, "healthcare.googleapis.com")
    assert set(got[agent].depends_on) == {project, services}
    # every dependency is declared and the graph has an order
    order = topological(list(got), {a: r.depends_on for a, r in got.items()})
    assert order.index(services) < order.index(DATASET) < order.index(STORE)


def test_default_grant_reads_each_import_bucket(files: Files) -> None:
    got = expanded(files.write("bp.yaml", VALID))
    grant = got[addresses.bucket_iam(f"{PID}-import")]
    assert grant.spec == {"bindings": [{"role": "roles/storage.objectViewer", "members": [AGENT]}]}
    assert set(grant.depends_on) == {
        addresses.bucket(f"{PID}-import"),
        addresses.service_agent(PID, "healthcare.googleapis.com"),
    }


def test_declared_grants_merge_into_the_targets_own_iam(files: Files) -> None:
    text = VALID.replace(
        "serviceAgents:\n  - service: healthcare.googleapis.com\n",
        "iam:\n  - role: roles/viewer\n    members: [group:team@example.com]\n"
        "serviceAgents:\n  - service: healthcare.googleapis.com\n    grants:\n"
        "      - {role: roles/storage.objectViewer, bucket: imaging-test-1-import}\n"
        "      - {role: roles/bigquery.dataEditor, project: true}\n"
        "      - {role: roles/healthcare.datasetViewer, dataset: imaging}\n"
        "      - {role: roles/pubsub.publisher, topic: projects/imaging-test-1/topics/dicom}\n",
    )
    got = expanded(files.write("bp.yaml", text))
    agent = addresses.service_agent(PID, "healthcare.googleapis.com")
    project_iam = got[addresses.project_iam(PID)]
    assert project_iam.spec["bindings"] == [
        {"role": "roles/viewer", "members": ["group:team@example.com"]},
        {"role": "roles/bigquery.dataEditor", "members": [AGENT]},
    ]
    assert agent in project_iam.depends_on
    dataset_iam = got[addresses.dataset_iam(PID, "us-central1", "imaging")]
    assert dataset_iam.spec["bindings"] == [
        {"role": "roles/healthcare.datasetViewer", "members": [AGENT]}
    ]
    assert set(dataset_iam.depends_on) == {DATASET, agent}
    topic = got[addresses.topic_iam("projects/imaging-test-1/topics/dicom")]
    assert topic.depends_on == (agent,)


def test_imports_are_run_steps_after_store_bucket_and_grant(files: Files) -> None:
    got = expanded(files.write("bp.yaml", VALID))
    uri = "gs://imaging-test-1-import/**.dcm"
    address = addresses.dicom_import(STORE.name, uri)
    assert [a for a in got if a.kind == "healthcare.dicom_import"] == [address]
    assert got[address].spec == {"store": STORE.name, "uri": uri}
    assert set(got[address].depends_on) == {
        STORE,
        addresses.bucket("imaging-test-1-import"),
        addresses.bucket_iam("imaging-test-1-import"),
        addresses.service_agent(PID, "healthcare.googleapis.com"),
    }
    assert address.name.startswith(STORE.name + "/imports/")


def test_no_service_agent_means_no_grants(files: Files) -> None:
    text = VALID.replace("serviceAgents:\n  - service: healthcare.googleapis.com\n", "")
    kinds = {a.kind for a in expanded(files.write("bp.yaml", text))}
    assert "service_agent" not in kinds
    assert "storage.bucket_iam" not in kinds


def test_every_notification_config_is_an_item_of_notification_configs(files: Files) -> None:
    """Google refuses `notificationConfig` together with `notificationConfigs` ("not
    compatible"), so none goes to the deprecated single field."""
    text = VALID.replace(
        "      - id: studies\n",
        "      - id: studies\n        notificationConfigs:\n"
        "          - pubsubTopic: projects/imaging-test-1/topics/dicom-a\n"
        "            sendForBulkImport: false\n"
        "          - {pubsubTopic: projects/imaging-test-1/topics/dicom-b}\n",
    )
    spec = expanded(files.write("bp.yaml", text))[STORE].spec
    assert "notificationConfig" not in spec
    assert spec["notificationConfigs"] == [
        {"pubsubTopic": "projects/imaging-test-1/topics/dicom-a"},
        {"pubsubTopic": "projects/imaging-test-1/topics/dicom-b"},
    ]


@pytest.mark.parametrize("position", [0, 1])
def test_the_bulk_import_flag_is_refused_naming_its_line(files: Files, position: int) -> None:
    """v1's notificationConfigs items (DicomNotificationConfig) carry only pubsubTopic."""
    configs = [
        "          - {pubsubTopic: projects/imaging-test-1/topics/dicom-a}\n",
        "          - {pubsubTopic: projects/imaging-test-1/topics/dicom-b}\n",
    ]
    configs[position] = configs[position].replace("}", ", sendForBulkImport: true}")
    text = VALID.replace(
        "      - id: studies\n",
        "      - id: studies\n        notificationConfigs:\n" + "".join(configs),
    )
    path = files.write("bp.yaml", text)
    with pytest.raises(BlueprintError) as refused:
        load(path)
    message = str(refused.value)
    line = text.splitlines().index(configs[position].rstrip("\n")) + 1
    assert f"{path}:{line}" in message
    assert f"notificationConfigs[{position}].sendForBulkImport" in message
    assert "sendForBulkImport cannot be true" in message


def test_adopt_and_location_travel_in_the_spec(files: Files) -> None:
    text = VALID.replace(
        "  - id: imaging\n    location: us-central1\n",
        "  - id: imaging\n    location: us-central1\n    adopt: true\n",
    ).replace(
        "  - name: imaging-test-1-import\n", "  - name: imaging-test-1-import\n    location: eu\n"
    )
    got = expanded(files.write("bp.yaml", text))
    assert got[DATASET].spec["adopt"] is True
    assert got[addresses.bucket(f"{PID}-import")].spec["location"] == "EU"


def test_dev_blueprint_expands(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[3]
    got = expanded(root / "blueprints" / "dev.yaml")
    kinds = sorted({a.kind for a in got})
    assert kinds == [
        "billing",
        "healthcare.dataset",
        "healthcare.dicom_import",
        "healthcare.dicom_store",
        "healthcare.dicom_store_iam",
        "healthcare.location",
        "project",
        "project_iam",
        "service_agent",
        "services",
        "storage.bucket",
        "storage.bucket_iam",
        "storage.project",
    ]


@pytest.mark.parametrize(
    ("dataset_flag", "store_flag", "protected"),
    [("", "", True), ("", "false", False), ("false", "", False), ("true", "true", True)],
)
def test_deletion_protection_is_lifted_by_either_flag(
    files: Files, dataset_flag: str, store_flag: str, protected: bool
) -> None:
    text = VALID
    if dataset_flag:
        text = text.replace(
            "    location: us-central1\n",
            f"    location: us-central1\n    deletionProtection: {dataset_flag}\n",
        )
    if store_flag:
        text = text.replace(
            "      - id: studies\n",
            f"      - id: studies\n        deletionProtection: {store_flag}\n",
        )
    assert expanded(files.write("bp.yaml", text))[STORE].spec["deletionProtection"] is protected


def test_only_known_service_agents_are_managed(files: Files) -> None:
    text = VALID.replace(
        "serviceAgents:\n  - service: healthcare.googleapis.com\n",
        "serviceAgents:\n  - service: healthcare.googleapis.com\n"
        "  - service: pubsub.googleapis.com\n",
    )
    with pytest.raises(PlanError, match=r"bp.yaml:\d+: serviceAgents\[1\].service"):
        expand(load(files.write("bp.yaml", text)))


def test_expansion_runs_with_the_collector_less_often(
    files: Files, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every caller's expansion (the CLI's workflows expand before they plan) allocates under
    the raised thresholds, which it then puts back."""
    import gc

    from provision.blueprint import expand as expansion
    from provision.collector import THRESHOLDS

    before = gc.get_threshold()
    seen: list[tuple[int, int, int]] = []
    storage = expansion.storage_resources

    def storage_resources(*args: Any) -> list[Resource]:
        seen.append(gc.get_threshold())
        return storage(*args)

    monkeypatch.setattr(expansion, "storage_resources", storage_resources)
    assert expanded(files.write("bp.yaml", VALID))
    assert seen == [tuple(max(a, b) for a, b in zip(before, THRESHOLDS, strict=True))]
    assert gc.get_threshold() == before
