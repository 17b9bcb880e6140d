"""BigQuery dataset access as a policy and back: entries provision does not change are written
exactly as read (legacy role names, conditions, order); new grants follow them."""

from __future__ import annotations

from provision.resources.bigquery_dataset_iam import access_of, policy_of
from provision.resources.iam_policy import WantedBinding, merge, subtract

CONDITION = {"title": "until 2030", "expression": 'request.time < timestamp("2030-01-01")'}
READ = [
    {"role": "WRITER", "specialGroup": "projectWriters"},
    {"role": "OWNER", "specialGroup": "projectOwners"},
    {"role": "READER", "groupByEmail": "Auditors@example.com", "condition": CONDITION},
    {"view": {"projectId": "p", "datasetId": "d", "tableId": "v"}},
    {"role": "READER", "specialGroup": "projectReaders"},
]
AGENT = "serviceAccount:agent@gcp-sa-healthcare.iam.gserviceaccount.com"


def test_an_unchanged_policy_writes_the_entries_as_read() -> None:
    assert access_of(policy_of({"access": READ, "etag": "e"})) == READ


def test_a_new_grant_follows_the_entries_as_read() -> None:
    wanted = [WantedBinding("roles/bigquery.dataEditor", (AGENT,))]
    merged = merge(policy_of({"access": READ}), wanted)
    assert merged.changed
    assert access_of(merged.policy) == [
        *READ,
        {"role": "roles/bigquery.dataEditor", "userByEmail": AGENT.split(":", 1)[1]},
    ]


def test_a_removed_member_drops_only_its_entry() -> None:
    wanted = [WantedBinding("roles/bigquery.dataEditor", ("specialGroup:projectWriters",))]
    result = subtract(policy_of({"access": READ}), wanted)
    assert access_of(result.policy) == READ[1:]
