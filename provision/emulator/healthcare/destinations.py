"""Where a DICOM store sends word of its new instances: Pub/Sub notifications
(`notificationConfigs[]`, and the deprecated `notificationConfig`) and BigQuery streaming
(`streamConfigs[].bigqueryDestination`).

When a store is created, or patched with `streamConfigs` in the mask, each BigQuery
destination is verified: the dataset must exist and the project's Cloud Healthcare Service Agent
must hold `roles/bigquery.dataEditor` on it (an access entry, or a project role) in effect, else
Google's 403 "failed to verify dataset ..." (quoted in terraform-provider-google issues 13721
and 11820). Topics are not checked then (no report says Google does; `notification_topic_check`
makes the emulator refuse a topic the agent cannot publish to).

Each newly stored instance is then, in the storing request:
* published on every notification topic, a message whose data is the instance's resource name
  (with the attributes healthcare.v1.json lists for `DicomNotificationConfig`; the deprecated
  config sends data only, and on imports only with `sendForBulkImport`), if the agent may
  publish there; otherwise the failure is logged, as Google logs it to Cloud Logging
  (`GET /_emulator/logs`);
* streamed to every BigQuery destination as one row (created table and columns as needed), if
  the agent still holds the role; otherwise logged likewise. `writeDisposition` and `force` are
  kept but streaming always appends (what Google does for `WRITE_EMPTY` on a non-empty table
  when streaming is not documented).
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydicom.datadict import keyword_for_tag

from provision.emulator.bigquery import models as bigquery
from provision.emulator.core import logs
from provision.emulator.core.errors import ApiError, invalid_argument
from provision.emulator.core.world import World
from provision.emulator.dicomweb import instances
from provision.emulator.pubsub import models as pubsub

SERVICE = "healthcare.googleapis.com"
DICOM_STORES = "dicom_stores"
TABLE_URI = re.compile(r"^bq://([^.]+)\.([A-Za-z0-9_]+)\.([\w\-]+)$")
IMPORT = "ImportDicomData"


def _agent(world: World, store_name: str) -> str:
    """`serviceAccount:` member of the Healthcare agent of the store's project."""
    project = world.find_project(store_name.split("/")[1])
    number = project["number"] if project else "0"
    return f"serviceAccount:{world.service_agent_email(number, SERVICE)}"


def parse_table_uri(uri: Any) -> tuple[str, str, str]:
    found = TABLE_URI.match(uri) if isinstance(uri, str) else None
    if found is None:
        raise invalid_argument(
            f'Invalid BigQuery table URI "{uri}": expected bq://projectId.bqDatasetId.tableId.'
        )
    return found[1], found[2], found[3]


def _destinations(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        config.get("bigqueryDestination") or {}
        for config in record.get("streamConfigs") or []
        if isinstance(config, dict)
    ]


def check_streams(world: World, record: dict[str, Any]) -> None:
    """Verify the store's BigQuery destinations as Google does when a store is created or its
    `streamConfigs` patched."""
    agent = _agent(world, record["name"])
    seen = set()
    for destination in _destinations(record):
        project_id, dataset_id, table_id = parse_table_uri(destination.get("tableUri"))
        if (project_id, dataset_id, table_id) in seen:
            raise invalid_argument("Each stream config must have a unique destination.")
        seen.add((project_id, dataset_id, table_id))
        project = world.find_project(project_id)
        canonical = project["projectId"] if project else project_id
        if not bigquery.member_can_edit(world, canonical, dataset_id, agent):
            raise ApiError(
                "PERMISSION_DENIED",
                f"failed to verify dataset (projectID:{project_id}, datasetID:{dataset_id}), "
                "please add the required bigquery.dataEditor role to your project's service "
                "account",
            )


def check_topics(world: World, record: dict[str, Any]) -> None:
    """With `notification_topic_check`: every topic exists and the agent may publish to it."""
    if not world.settings.notification_topic_check:
        return
    agent = _agent(world, record["name"])
    for topic, _ in _topics(record):
        if not pubsub.can_publish(world, topic, agent):
            raise invalid_argument(
                f"Pub/Sub topic {topic} does not exist or the Cloud Healthcare Service Agent "
                f"{agent.removeprefix('serviceAccount:')} may not publish to it."
            )


def _topics(record: dict[str, Any]) -> list[tuple[str, bool]]:
    """(topic, whether it is a `notificationConfigs` item) per configured topic; the
    deprecated config counts only when it takes this kind of call."""
    found = [
        (str(config["pubsubTopic"]), True)
        for config in record.get("notificationConfigs") or []
        if isinstance(config, dict) and config.get("pubsubTopic")
    ]
    single = record.get("notificationConfig") or {}
    if single.get("pubsubTopic"):
        found.append((str(single["pubsubTopic"]), False))
    return found


def _first(element: Any) -> str | None:
    """The first value of a DICOM JSON element as a string (a name's alphabetic form)."""
    values = element.get("Value") if isinstance(element, dict) else None
    if not values:
        return None
    value = values[0]
    if isinstance(value, dict):
        alphabetic = value.get("Alphabetic")
        return str(alphabetic) if alphabetic is not None else None
    return str(value)


def _attributes(store: str, instance: dict[str, Any], action: str) -> dict[str, str]:
    attributes = {
        "action": action,
        "lastUpdatedTime": instance.get("storageClassUpdateTime", ""),
        "storeName": store,
        "studyInstanceUID": instance["study"],
        "seriesInstanceUID": instance["series"],
        "sopInstanceUID": instance["sop"],
        "storageClass": instance.get("storageClass", "STANDARD"),
    }
    modality = _first(instance["json"].get("00080060"))
    if modality:
        attributes["modality"] = modality
    return attributes


def notify(
    world: World, store: dict[str, Any], instance: dict[str, Any], action: str, **extra: str
) -> None:
    """Publish one instance's notification on each of the store's topics (or log why not)."""
    agent = _agent(world, store["name"])
    name = instances.resource_name(store["name"], instance)
    for topic, rich in _topics(store):
        single = store.get("notificationConfig") or {}
        if not rich and action == IMPORT and not single.get("sendForBulkImport"):
            continue
        if not pubsub.can_publish(world, topic, agent):
            logs.error(
                world,
                SERVICE,
                store["name"],
                f"Failed to publish a notification for {name} to Pub/Sub topic {topic}: the "
                f"Cloud Healthcare Service Agent {agent.removeprefix('serviceAccount:')} does "
                "not have pubsub.topics.publish on it, or the topic does not exist.",
                topic=topic,
            )
            continue
        attributes = {**_attributes(store["name"], instance, action), **extra} if rich else {}
        pubsub.publish(world, topic, name.encode(), attributes)


def _row(store: str, instance: dict[str, Any], destination: dict[str, Any]) -> dict[str, Any]:
    """One streamed row: JSON schema (`schemaJson`) or one column per top-level tag."""
    row: dict[str, Any] = {
        "StudyInstanceUID": instance["study"],
        "SeriesInstanceUID": instance["series"],
        "SOPInstanceUID": instance["sop"],
    }
    if destination.get("includeSourceStore"):
        row["SourceDicomStore"] = store
    if "schemaJson" in destination:
        row["Metadata"] = json.dumps(instance["json"], sort_keys=True)
        row["StorageClass"] = instance.get("storageClass", "STANDARD")
        row["Type"] = "INSERT"
        return row
    for tag, element in sorted(instance["json"].items()):
        keyword = keyword_for_tag(int(tag, 16))
        value = _first(element) if element.get("vr") != "SQ" else None
        if keyword and value is not None and keyword not in row:
            row[keyword] = value
    return row


def stream(world: World, store: dict[str, Any], instance: dict[str, Any]) -> None:
    """Stream one instance to each BigQuery destination of the store (or log why not)."""
    agent = _agent(world, store["name"])
    for destination in _destinations(store):
        project_id, dataset_id, table_id = parse_table_uri(destination.get("tableUri"))
        project = world.find_project(project_id)
        canonical = project["projectId"] if project else project_id
        if not bigquery.member_can_edit(world, canonical, dataset_id, agent):
            logs.error(
                world,
                SERVICE,
                store["name"],
                f"Failed to stream {instances.resource_name(store['name'], instance)} to "
                f"BigQuery table {destination['tableUri']}: the Cloud Healthcare Service Agent "
                "needs the bigquery.dataEditor role on the dataset.",
                table=str(destination["tableUri"]),
            )
            continue
        bigquery.append_row(
            world, canonical, dataset_id, table_id, _row(store["name"], instance, destination)
        )


def instance_stored(world: World, store_name: str, instance: dict[str, Any], action: str) -> None:
    store = world.store.get(DICOM_STORES, store_name)
    if store is None:
        return
    notify(world, store, instance, action)
    stream(world, store, instance)


instances.on_stored(instance_stored)
