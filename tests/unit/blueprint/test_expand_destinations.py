"""Blueprint `topics`, `bigqueryDatasets` and the stores that notify and stream to them: the
Cloud Healthcare Service Agent's grants there are derived, and the store waits for them."""

from __future__ import annotations

from pathlib import Path

from provision.blueprint.expand import expand
from provision.blueprint.loader import load
from provision.graph import topological
from provision.model import Address, Resource
from provision.resources import addresses
from tests.unit.blueprint.conftest import VALID, Files, problems

PID = "imaging-test-1"
AGENT = (
    f"serviceAccount:service-${{project_number:{PID}}}@gcp-sa-healthcare.iam.gserviceaccount.com"
)
DATASET = addresses.dataset(PID, "us-central1", "imaging")
STORE = addresses.dicom_store(DATASET.name, "studies")
TOPIC = addresses.topic(PID, "dicom-events")
BQ = addresses.bigquery_dataset(PID, "imaging_metadata")
TABLE = f"bq://{PID}.imaging_metadata.instances"

DESTINATIONS = VALID.replace(
    "      - id: studies\n",
    "      - id: studies\n"
    "        notificationConfigs:\n"
    "          - pubsubTopic: dicom-events\n"
    "        streamConfigs:\n"
    "          - bigqueryDestination:\n"
    f"              tableUri: {TABLE}\n"
    "              writeDisposition: WRITE_APPEND\n"
    "              includeSourceStore: true\n"
    "              schemaType: JSON\n",
) + (
    "topics:\n  - id: dicom-events\n    labels: {env: test}\n"
    "bigqueryDatasets:\n  - id: imaging_metadata\n    location: US\n"
)


def expanded(path: Path) -> dict[Address, Resource]:
    return {r.address: r for r in expand(load(path))}


def test_the_agent_publishes_and_streams_before_the_store_exists(files: Files) -> None:
    got = expanded(files.write("bp.yaml", DESTINATIONS))
    agent = addresses.service_agent(PID, "healthcare.googleapis.com")
    topic_iam = got[addresses.topic_iam(TOPIC.name)]
    assert topic_iam.spec == {"bindings": [{"role": "roles/pubsub.publisher", "members": [AGENT]}]}
    assert set(topic_iam.depends_on) == {TOPIC, agent}
    bq_iam = got[addresses.bigquery_dataset_iam(PID, "imaging_metadata")]
    assert bq_iam.spec == {"bindings": [{"role": "roles/bigquery.dataEditor", "members": [AGENT]}]}
    assert set(bq_iam.depends_on) == {BQ, agent}
    assert set(got[STORE].depends_on) == {DATASET, TOPIC, topic_iam.address, BQ, bq_iam.address}
    order = topological(list(got), {a: r.depends_on for a, r in got.items()})
    assert order.index(bq_iam.address) < order.index(STORE)
    assert order.index(topic_iam.address) < order.index(STORE)


def test_the_store_names_the_topic_in_full_and_the_whole_v1_destination(files: Files) -> None:
    spec = expanded(files.write("bp.yaml", DESTINATIONS))[STORE].spec
    assert spec["notificationConfigs"] == [{"pubsubTopic": TOPIC.name}]
    assert spec["streamConfigs"] == [
        {
            "bigqueryDestination": {
                "tableUri": TABLE,
                "writeDisposition": "WRITE_APPEND",
                "includeSourceStore": True,
                "schemaJson": {},
            }
        }
    ]


def test_topics_and_datasets_enable_their_apis(files: Files) -> None:
    got = expanded(files.write("bp.yaml", DESTINATIONS))
    assert got[addresses.services(PID)].spec["services"] == [
        "bigquery.googleapis.com",
        "healthcare.googleapis.com",
        "pubsub.googleapis.com",
    ]
    assert got[TOPIC].spec == {
        "projectId": PID,
        "topicId": "dicom-events",
        "labels": {"env": "test"},
        "adopt": False,
    }
    assert addresses.services(PID) in got[BQ].depends_on


def test_the_agent_is_managed_even_when_not_listed(files: Files) -> None:
    text = DESTINATIONS.replace("serviceAgents:\n  - service: healthcare.googleapis.com\n", "")
    got = expanded(files.write("bp.yaml", text))
    agent = addresses.service_agent(PID, "healthcare.googleapis.com")
    assert agent in got
    assert agent in got[addresses.topic_iam(TOPIC.name)].depends_on
    # without a declared agent there are no default bucket grants
    assert addresses.bucket_iam(f"{PID}-import") not in got


def test_force_is_written_as_write_truncate_with_a_warning(files: Files) -> None:
    text = DESTINATIONS.replace("              writeDisposition: WRITE_APPEND\n", "").replace(
        "              includeSourceStore: true\n", "              force: true\n"
    )
    path = files.write("bp.yaml", text)
    spec = expanded(path)[STORE].spec
    assert spec["streamConfigs"][0]["bigqueryDestination"]["writeDisposition"] == "WRITE_TRUNCATE"
    warned = [w for w in load(path).warnings if "force is deprecated" in w.message]
    assert warned and warned[0].line == 15


def test_force_and_a_write_disposition_together_are_refused(files: Files) -> None:
    text = DESTINATIONS.replace(
        "              writeDisposition: WRITE_APPEND\n",
        "              writeDisposition: WRITE_APPEND\n              force: true\n",
    )
    found = problems(files.write("bp.yaml", text))
    assert any("force and writeDisposition together" in p.message for p in found)


def test_an_undeclared_topic_id_is_an_error_naming_its_line(files: Files) -> None:
    text = DESTINATIONS.replace(
        "          - pubsubTopic: dicom-events\n", "          - pubsubTopic: nope-topic\n"
    )
    found = problems(files.write("bp.yaml", text))
    [problem] = [p for p in found if "nope-topic" in p.message]
    assert problem.line == 11
    assert "not declared in `topics`" in problem.message


def test_destinations_outside_the_blueprint_are_warnings_and_manual(files: Files) -> None:
    text = VALID.replace(
        "      - id: studies\n",
        "      - id: studies\n"
        "        notificationConfigs:\n"
        "          - pubsubTopic: projects/elsewhere-1/topics/dicom\n"
        "        streamConfigs:\n"
        "          - bigqueryDestination: {tableUri: 'bq://elsewhere-1.meta.instances'}\n",
    )
    path = files.write("bp.yaml", text)
    messages = [w.message for w in load(path).warnings]
    assert any("roles/pubsub.publisher" in m and "grant it yourself" in m for m in messages)
    assert any("roles/bigquery.dataEditor" in m and "grant it yourself" in m for m in messages)
    got = expanded(path)
    assert not [a for a in got if a.kind in ("pubsub.topic_iam", "bigquery.dataset_iam")]


def test_a_hand_written_grant_on_a_foreign_topic_stays_a_manual_step(files: Files) -> None:
    text = VALID.replace(
        "  - service: healthcare.googleapis.com\n",
        "  - service: healthcare.googleapis.com\n    grants:\n"
        "      - {role: roles/pubsub.publisher, topic: projects/elsewhere-1/topics/dicom}\n",
    )
    got = expanded(files.write("bp.yaml", text))
    grant = got[addresses.topic_iam("projects/elsewhere-1/topics/dicom")]
    assert grant.spec["manual"] is True
