"""Kind `bigquery.dataset_iam` (`projects/{p}/datasets/{d}`): who may use a BigQuery dataset.

spec = {"bindings": [{"role", "members", "authoritative"?}, ...]}; additive per member unless a
binding is authoritative (see `iam`).

BigQuery v2 grants roles on a dataset through its `access[]` entries, not through an IAM
policy (bigquery.v2.json has no datasets.getIamPolicy). The shared IAM machinery works on them
as a policy: `get_policy` reads the dataset (`datasets.get`) and shows each entry as a binding
member (`userByEmail` -> `user:` or, for service accounts, `serviceAccount:`; `groupByEmail`
-> `group:`; `domain` -> `domain:`; `iamMember` as written; `specialGroup` ->
`specialGroup:NAME`), with BigQuery's legacy role names read as the predefined roles they stand
for (`WRITER` is `roles/bigquery.dataEditor`, bigquery.v2.json). Entries that grant to views,
routines or datasets are carried through untouched. `set_policy` writes the whole `access`
list back with one `datasets.patch` ("to add entities, you must supply the entire existing
access array"): every entry provision does not change exactly as it was read (a legacy
`WRITER` stays `WRITER`, in its place), new grants after them.

Reads and writes send `accessPolicyVersion=3`, so entries with a `condition` are read and
written intact. The patch sends the dataset's `etag` as read in an `If-Match` header (the
discovery document has no etag parameter; Google's BigQuery client libraries send it so):
a dataset changed since the read answers 412, and the read-modify-write restarts (read,
merge, write) as on an IAM policy's 409 (see `iam`), so a concurrent writer's entries are
never lost.

The Cloud Healthcare Service Agent's `roles/bigquery.dataEditor` on each declared dataset a
store streams to is derived here (see `blueprint.expand`), and the store waits for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provision.gcp.methods import BIGQUERY_DATASETS
from provision.model import JSON, Resource
from provision.resources import addresses
from provision.resources.base import Context, Needs, Probe
from provision.resources.bigquery_dataset import (
    ACCESS_POLICY_VERSION,
    API,
    BIGQUERY,
    get_dataset,
    reference,
)
from provision.resources.iam import IamKind
from provision.resources.iam_policy import ConditionKey, condition_key, member_key, roles_held
from provision.resources.registry import register

EDITOR_ROLES = frozenset(
    {"roles/bigquery.dataEditor", "roles/bigquery.dataOwner", "roles/bigquery.admin"}
)
"""Dataset roles that let the Cloud Healthcare Service Agent stream rows into it."""
LEGACY_ROLES: Mapping[str, str] = {
    "OWNER": "roles/bigquery.dataOwner",
    "WRITER": "roles/bigquery.dataEditor",
    "READER": "roles/bigquery.dataViewer",
}
"""BigQuery's legacy access roles and the predefined roles they are (bigquery.v2.json)."""
READ_ACCESS = "access"
"""Key of the policy as read: the dataset's `access` entries exactly as read."""
SPECIAL = "specialGroup:"


def member_of(entry: Mapping[str, Any]) -> str | None:
    """The binding member an access entry names (None for views, routines and datasets)."""
    if entry.get("userByEmail"):
        email = str(entry["userByEmail"])
        prefix = "serviceAccount" if email.endswith(".gserviceaccount.com") else "user"
        return f"{prefix}:{email}"
    if entry.get("groupByEmail"):
        return f"group:{entry['groupByEmail']}"
    if entry.get("domain"):
        return f"domain:{entry['domain']}"
    if entry.get("specialGroup"):
        return f"{SPECIAL}{entry['specialGroup']}"
    if entry.get("iamMember"):
        return str(entry["iamMember"])
    return None


def entry_of(role: str, member: str) -> JSON:
    """The access entry granting `role` to `member` (the inverse of `member_of`)."""
    kind, _, value = member.partition(":")
    field = {
        "user": "userByEmail",
        "serviceAccount": "userByEmail",
        "group": "groupByEmail",
        "domain": "domain",
        "specialGroup": "specialGroup",
    }.get(kind)
    if field is None or not value:
        return {"role": role, "iamMember": member}
    return {"role": role, field: value}


def grant_of(entry: Any) -> tuple[str, str, ConditionKey | None] | None:
    """(predefined role, member key, condition key) of a role-for-member access entry."""
    member = member_of(entry) if isinstance(entry, Mapping) else None
    if member is None or not entry.get("role"):
        return None
    role = LEGACY_ROLES.get(str(entry["role"]), str(entry["role"]))
    return role, member_key(member), condition_key(entry.get("condition"))


def policy_of(dataset: Mapping[str, Any]) -> JSON:
    """The dataset's access entries as a policy (bindings by role and condition), with the
    entries as read (`READ_ACCESS`) and the dataset's etag."""
    bindings: list[JSON] = []
    access = list(dataset.get("access") or [])
    for entry in access:
        grant = grant_of(entry)
        if grant is None:
            continue
        role, condition = grant[0], entry.get("condition")
        found = next(
            (b for b in bindings if b["role"] == role and b.get("condition") == condition), None
        )
        if found is None:
            found = {"role": role, "members": []}
            if condition:
                found["condition"] = dict(condition)
            bindings.append(found)
        found["members"].append(member_of(entry))
    policy: JSON = {"bindings": bindings, READ_ACCESS: access}
    if dataset.get("etag"):
        policy["etag"] = dataset["etag"]
    return policy


def access_of(policy: Mapping[str, Any]) -> list[JSON]:
    """The `access` list that writes `policy`: the entries as read that it still grants (and
    those of other kinds) unchanged and in order, then an entry for each new grant."""
    wanted: dict[tuple[str, str, ConditionKey | None], JSON] = {}
    for binding in policy.get("bindings") or []:
        for member in binding.get("members") or []:
            entry = entry_of(str(binding["role"]), str(member))
            if binding.get("condition"):
                entry["condition"] = dict(binding["condition"])
            wanted.setdefault(
                (
                    str(binding["role"]),
                    member_key(str(member)),
                    condition_key(entry.get("condition")),
                ),
                entry,
            )
    access: list[JSON] = []
    for entry in policy.get(READ_ACCESS) or []:
        grant = grant_of(entry)
        if grant is None or wanted.pop(grant, None) is not None:
            access.append(entry)
    return access + list(wanted.values())


@register
class BigQueryDatasetIamKind(IamKind):
    name = addresses.BIGQUERY_DATASET_IAM
    parent_kind = addresses.BIGQUERY_DATASET
    api = API
    requires_services = frozenset({BIGQUERY})
    set_method = f"{BIGQUERY_DATASETS}.patch"
    iam_admin_roles = frozenset({"roles/bigquery.dataOwner", "roles/bigquery.admin"})
    needs = Needs(
        "roles/bigquery.dataOwner (on the dataset)",
        ("bigquery.datasets.get", "bigquery.datasets.update"),
    )

    def get_policy(self, ctx: Context, resource_name: str) -> JSON:
        dataset = get_dataset(ctx, resource_name)
        if dataset is None:
            return {"bindings": []}
        return policy_of(dataset)

    def set_policy(self, ctx: Context, resource_name: str, policy: JSON) -> JSON:
        """One `datasets.patch` of `access`, only if the dataset's etag is still the one read."""
        etag = policy.get("etag")
        dataset = ctx.api.call(
            self.set_method,
            **reference(resource_name),
            accessPolicyVersion=ACCESS_POLICY_VERSION,
            body={"access": access_of(policy)},
            headers={"If-Match": str(etag)} if etag else None,
        )
        return policy_of(dataset)

    def probes(self, resource: Resource) -> list[Probe]:
        """Every member granted a role on the dataset holds it (the agent's dataEditor)."""
        return self.binding_probes(resource)


def agent_edits(ctx: Context, name: str, member: str) -> bool:
    """Whether the access of the dataset `name` grants `member` a role in `EDITOR_ROLES`
    (whether or not the grant has taken effect yet); False for a dataset that is gone."""
    dataset = get_dataset(ctx, name)
    return dataset is not None and bool(roles_held(policy_of(dataset), member) & EDITOR_ROLES)
