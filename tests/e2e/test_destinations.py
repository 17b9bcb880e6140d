"""End to end through the CLI on the emulator: Pub/Sub topics and BigQuery datasets declared in
the blueprint, and the DICOM stores that notify and stream to them. The Cloud Healthcare
Service Agent's publisher and dataEditor grants are derived and in place before the store is
created; out-of-band changes are made with the plain Google client libraries."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from provision.emulator import samples
from provision.emulator.server import RunningEmulator
from tests.e2e.conftest import (
    BILLING,
    CliFn,
    clear_journal,
    journal,
    set_faults,
    write_after_the_check,
)
from tests.emulator.clients import control
from tests.emulator.seeding import stow

PROJECT = "e2e-streams"
DATASET = f"projects/{PROJECT}/locations/us-central1/datasets/imaging"
STORE = f"{DATASET}/dicomStores/main"
TOPIC = f"projects/{PROJECT}/topics/dicom-events"
TABLE = f"bq://{PROJECT}.imaging_metadata.instances"

BLUEPRINT = f"""\
version: 1
project:
  id: {PROJECT}
  billingAccount: {BILLING}
services:
  - healthcare.googleapis.com
topics:
  - id: dicom-events
    labels: {{env: test}}
bigqueryDatasets:
  - id: imaging_metadata
    location: US
    description: DICOM metadata
datasets:
  - id: imaging
    location: us-central1
    dicomStores:
      - id: main
        notificationConfigs:
          - pubsubTopic: dicom-events
        streamConfigs:
          - bigqueryDestination:
              tableUri: {TABLE}
              writeDisposition: WRITE_APPEND
              includeSourceStore: true
              schemaType: JSON
"""

Google = Callable[[str, str], Any]


@pytest.fixture
def streams(tmp_path: Path) -> Path:
    path = tmp_path / "streams.yaml"
    path.write_text(BLUEPRINT, encoding="utf-8")
    return path


def agent_email(google: Google) -> str:
    project = google("cloudresourcemanager", "v3").projects().get(name=f"projects/{PROJECT}")
    number = project.execute()["name"].split("/")[1]
    return f"service-{number}@gcp-sa-healthcare.iam.gserviceaccount.com"


def test_topics_and_datasets_are_made_and_the_agent_can_use_them_before_the_store(
    cli: CliFn, streams: Path, emulator: RunningEmulator, google: Google
) -> None:
    # The BigQuery grant takes 2 s to take effect: the store create waits it out (Google's
    # documented 403). The publisher grant is checked by order only: Google is not known to
    # check a store's topics when it is created, so apply does not wait for that grant's effect.
    set_faults(emulator, iam_effect_delay_s=2.0)
    applied = cli("apply", streams, "--yes")
    assert applied.exit_code == 0, applied.output
    calls = [(e["method"], e["path"]) for e in journal(emulator) if e["mutating"]]
    grant_at = next(
        i for i, (m, p) in enumerate(calls) if m == "PATCH" and p.endswith("/imaging_metadata")
    )
    publisher_at = next(
        i
        for i, (m, p) in enumerate(calls)
        if m == "POST" and p.endswith(":setIamPolicy") and "/topics/" in p
    )
    store_at = next(
        i for i, (m, p) in enumerate(calls) if m == "POST" and p.endswith("/dicomStores")
    )
    assert grant_at < store_at and publisher_at < store_at

    agent = agent_email(google)
    topic = google("pubsub", "v1").projects().topics()
    assert topic.get(topic=TOPIC).execute()["labels"] == {"env": "test", "managed-by": "provision"}
    policy = topic.getIamPolicy(resource=TOPIC).execute()
    assert {"role": "roles/pubsub.publisher", "members": [f"serviceAccount:{agent}"]} in policy[
        "bindings"
    ]
    bq = google("bigquery", "v2").datasets()
    dataset = bq.get(projectId=PROJECT, datasetId="imaging_metadata").execute()
    assert {"role": "WRITER", "userByEmail": agent} in dataset["access"]
    assert dataset["description"] == "DICOM metadata"
    store = google("healthcare", "v1").projects().locations().datasets().dicomStores()
    got = store.get(name=STORE).execute()
    assert got["streamConfigs"] == [
        {
            "bigqueryDestination": {
                "tableUri": TABLE,
                "writeDisposition": "WRITE_APPEND",
                "includeSourceStore": True,
                "schemaJson": {},
            }
        }
    ]
    assert got["notificationConfigs"] == [{"pubsubTopic": TOPIC}]

    again = cli("plan", streams, "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    verified = cli("verify", streams)
    assert verified.exit_code == 0, verified.output
    assert "roles/bigquery.dataEditor held" in verified.stdout
    assert "roles/pubsub.publisher held" in verified.stdout

    # what the store then stores is published and streamed
    sample = samples.instance(seed=7, study=1, series=1, number=1)
    stow(emulator, STORE, [sample.data])
    [message] = control(emulator, "messages").get(TOPIC, [])
    assert message["attributes"]["sopInstanceUID"] == sample.sop_uid
    rows = google("bigquery", "v2").tabledata()
    listed = rows.list(projectId=PROJECT, datasetId="imaging_metadata", tableId="instances")
    assert listed.execute()["totalRows"] == "1"


def test_removing_the_agents_bigquery_grant_out_of_band_is_restored(
    cli: CliFn, streams: Path, emulator: RunningEmulator, google: Google
) -> None:
    assert cli("apply", streams, "--yes").exit_code == 0
    agent = agent_email(google)
    bq = google("bigquery", "v2").datasets()
    dataset = bq.get(projectId=PROJECT, datasetId="imaging_metadata").execute()
    access = [e for e in dataset["access"] if e.get("userByEmail") != agent]
    bq.patch(projectId=PROJECT, datasetId="imaging_metadata", body={"access": access}).execute()

    planned = cli("plan", streams, "--detailed-exitcode")
    assert planned.exit_code == 2, planned.output
    assert f"bigquery.dataset_iam:projects/{PROJECT}/datasets/imaging_metadata" in planned.stdout
    assert "roles/bigquery.dataEditor" in planned.stdout
    failed = cli("verify", streams)
    assert failed.exit_code != 0
    assert "missing: serviceAccount:" in failed.stdout

    clear_journal(emulator)
    fixed = cli("apply", streams, "--yes")
    assert fixed.exit_code == 0, fixed.output
    restored = bq.get(projectId=PROJECT, datasetId="imaging_metadata").execute()
    assert {"role": "WRITER", "userByEmail": agent} in restored["access"]
    # BigQuery's default access and anything else granted stays
    assert {"role": "OWNER", "specialGroup": "projectOwners"} in restored["access"]
    assert cli("plan", streams, "--detailed-exitcode").exit_code == 0


CONDITIONAL = {
    "role": "READER",
    "groupByEmail": "auditors@example.com",
    "condition": {
        "title": "until 2030",
        "expression": 'request.time < timestamp("2030-01-01T00:00:00Z")',
    },
}


def test_a_concurrent_access_writer_and_a_conditional_entry_are_kept(
    cli: CliFn,
    streams: Path,
    tmp_path: Path,
    emulator: RunningEmulator,
    google: Google,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Access is read and written with accessPolicyVersion=3 (a conditional entry stays as it
    is) and patched with If-Match: another writer getting in between the saved plan's check and
    apply's write makes BigQuery answer 412, and apply reads again and keeps both."""
    assert cli("apply", streams, "--yes").exit_code == 0
    agent = agent_email(google)
    bq = google("bigquery", "v2").datasets()
    where = {"projectId": PROJECT, "datasetId": "imaging_metadata"}
    dataset = bq.get(**where, accessPolicyVersion=3).execute()
    access = [e for e in dataset["access"] if e.get("userByEmail") != agent] + [CONDITIONAL]
    bq.patch(**where, accessPolicyVersion=3, body={"access": access}).execute()
    shown = bq.get(**where).execute()["access"]  # below version 3 the role is mangled
    assert [e["role"].split("_withcond_")[0] for e in shown if "_withcond_" in e["role"]] == [
        "READER"
    ]
    saved = tmp_path / "plan.json"
    assert cli("plan", streams, "--out", saved).exit_code == 0
    late = {"role": "READER", "userByEmail": "late@example.com"}

    def grant_late() -> None:
        current = bq.get(**where, accessPolicyVersion=3).execute()["access"]
        bq.patch(**where, accessPolicyVersion=3, body={"access": [*current, late]}).execute()

    write_after_the_check(monkeypatch, grant_late)
    clear_journal(emulator)
    applied = cli("apply", saved)
    assert applied.exit_code == 0, applied.output
    patches = [e for e in journal(emulator) if e["method_id"] == "datasets.patch"]
    assert [e["status"] for e in patches] == [200, 412, 200]  # the other writer's first
    assert all("accessPolicyVersion=3" in e["query"] for e in patches)
    final = bq.get(**where, accessPolicyVersion=3).execute()["access"]
    assert {"role": "WRITER", "userByEmail": agent} in final
    assert late in final and CONDITIONAL in final
    assert final[: len(access)] == access  # entries provision did not change, as they were
    assert cli("plan", streams, "--detailed-exitcode").exit_code == 0


def test_destroy_keeps_a_topic_unless_named_and_a_dataset_holding_tables(
    cli: CliFn, streams: Path, emulator: RunningEmulator, google: Google
) -> None:
    assert cli("apply", streams, "--yes").exit_code == 0
    stow(emulator, STORE, [samples.instance(seed=8, study=1, series=1, number=1).data])
    destroyed = cli("destroy", streams, "--yes")
    assert destroyed.exit_code == 0, destroyed.output
    assert "only when named with --allow-delete" in destroyed.stdout
    assert "provision never deletes BigQuery data" in destroyed.stdout
    topics = google("pubsub", "v1").projects().topics()
    assert topics.get(topic=TOPIC).execute()["name"] == TOPIC
    bq = google("bigquery", "v2").datasets()
    assert bq.get(projectId=PROJECT, datasetId="imaging_metadata").execute()["id"]
