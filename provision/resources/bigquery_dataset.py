"""Kind `bigquery.dataset` (`projects/{p}/datasets/{d}`): a BigQuery dataset.

spec = {"projectId", "datasetId", "location", "description"?, "labels": {..}, "adopt": bool}

* Created (`datasets.insert`) with its labels plus `managed-by: provision`, and BigQuery's
  default access (the project's owners, writers and readers, and the creator); an existing
  dataset without the label needs `adopt: true` (adopting writes no ownership label; the
  declared labels are still patched on). A 409 reads it back and adopts it when ours.
* Labels are additive and the description is set (one `datasets.patch`). The location cannot
  change: a different one is a plan error naming `location`.
* Access entries are the kind `bigquery.dataset_iam`.
* A dataset holds tables (data): `provision destroy` deletes one provision owns only when it
  holds no table (`datasets.delete` without `deleteContents`, which BigQuery itself refuses for
  a dataset holding tables), and keeps it otherwise, saying why.
* BigQuery has no `testIamPermissions` on datasets: what managing one needs is asked of its
  project (where the roles that grant it are usually held).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from provision.errors import ApplyError, GoogleApiError, PlanError
from provision.gcp.methods import BIGQUERY_DATASETS, BIGQUERY_TABLES
from provision.model import JSON, Action, Address, Change, FieldDiff, Observed, Resource
from provision.resources import addresses, ownership, resource_manager
from provision.resources.base import (
    HOLDS,
    Context,
    DeleteRefusedError,
    Kind,
    Needs,
    Options,
    RemovalScope,
    compared,
    map_diffs,
    readable,
    removal,
)
from provision.resources.registry import register

BIGQUERY = "bigquery.googleapis.com"
"""The API as `services` enables it."""
API = "bigquery"
"""The API as the gateway names it (`Kind.api`)."""
EMPTY = "holds no table"
TABLE_SAMPLE = 5


def reference(name: str) -> dict[str, Any]:
    """The `projectId` and `datasetId` parameters of the dataset `projects/{p}/datasets/{d}`."""
    project_id, dataset_id = addresses.split_bigquery_dataset_name(name)
    return {"projectId": project_id, "datasetId": dataset_id}


ACCESS_POLICY_VERSION = 3
"""`accessPolicyVersion` of every dataset read and access write: without 3, BigQuery shows an
access entry with a condition under a mangled role and refuses writes of such entries
(bigquery.v2.json, datasets.get and datasets.patch)."""


def get_dataset(ctx: Context, name: str) -> JSON | None:
    """The dataset (conditional access entries as written), or None on 404 (403 is raised:
    unreadable never means absent)."""
    try:
        return ctx.api.call(
            f"{BIGQUERY_DATASETS}.get", **reference(name), accessPolicyVersion=ACCESS_POLICY_VERSION
        )
    except GoogleApiError as error:
        if error.http_status == 404:
            return None
        raise


def normal_location(value: Any) -> str:
    """Multi-regions as BigQuery writes them (`US`, `EU`), regions lower-case."""
    text = str(value or "US")
    return text.upper() if text.lower() in ("us", "eu") else text.lower()


@register
class BigQueryDatasetKind(Kind):
    name = addresses.BIGQUERY_DATASET
    api = API
    requires_services = frozenset({BIGQUERY})
    removable = True
    noun = "BigQuery dataset"
    needs = Needs(
        "roles/bigquery.user (on the project) and roles/bigquery.dataOwner (on the dataset)",
        ("bigquery.datasets.get", "bigquery.datasets.update"),
        ("bigquery.datasets.create",),
    )

    def read(self, ctx: Context, resource: Resource) -> Observed:
        dataset = get_dataset(ctx, resource.address.name)
        return Observed.absent() if dataset is None else observe(dataset)

    def diff(self, resource: Resource, observed: Observed, options: Options) -> Change:
        wanted = owned(resource.spec)
        if not observed.exists:
            diffs = [FieldDiff("location", None, wanted["location"])]
            diffs.append(FieldDiff("labels", None, wanted["labels"]))
            return Change(
                resource.address,
                Action.CREATE,
                after=wanted,
                diffs=tuple(diffs),
                depends_on=resource.depends_on,
                observed_exists=False,
            )
        fields = observed.fields
        wanted, reason = ownership.managed_or_adopted(
            resource, fields.get("labels"), wanted, "BigQuery dataset", "bigqueryDatasets"
        )
        if fields.get("location") != wanted["location"]:
            raise PlanError(
                f"{resource.address}: location: the dataset is in {fields.get('location')} but "
                f"the blueprint says {wanted['location']}; a BigQuery dataset's location cannot "
                "be changed. Put the location back, or use a new dataset id"
            )
        diffs = map_diffs("labels", fields.get("labels") or {}, wanted["labels"])
        if "description" in wanted and fields.get("description") != wanted["description"]:
            diffs.append(FieldDiff("description", fields.get("description"), wanted["description"]))
        return compared(resource, observed, wanted, diffs, reason)

    # -- applying -------------------------------------------------------------------------

    def create(self, ctx: Context, change: Change) -> Observed | None:
        spec = change.after or {}
        body: JSON = {
            "datasetReference": reference(change.address.name),
            "location": spec["location"],
            "labels": dict(spec["labels"]),
        }
        if "description" in spec:
            body["description"] = spec["description"]
        try:
            dataset = ctx.api.call(
                f"{BIGQUERY_DATASETS}.insert", projectId=spec["projectId"], body=body
            )
        except GoogleApiError as error:
            if error.http_status != 409:
                raise
            found = get_dataset(ctx, change.address.name)
            return self.adopt_after_conflict(ctx, change, None if found is None else observe(found))
        return observe(dataset)

    def update(self, ctx: Context, change: Change) -> Observed | None:
        spec = change.after or {}
        paths = change.fields_changed
        body: JSON = {}
        if "labels" in paths:
            fresh = get_dataset(ctx, change.address.name)
            body["labels"] = ownership.labels_to_write(fresh, spec["labels"])
        if "description" in paths:
            body["description"] = spec["description"]
        if not body:
            return None
        dataset = ctx.api.call(
            f"{BIGQUERY_DATASETS}.patch", **reference(change.address.name), body=body
        )
        return observe(dataset)

    def delete(self, ctx: Context, change: Change) -> None:
        """Delete the dataset if it is still ours and holds no table; BigQuery itself refuses
        (400 resourceInUse) a dataset a table reached meanwhile."""
        dataset = get_dataset(ctx, change.address.name)
        if dataset is None:
            return
        if not ownership.is_managed(dataset.get("labels")):
            raise ApplyError(
                f"{change.address}: no longer labelled managed-by: provision; not deleting it"
            )
        tables = first_tables(ctx, change.address.name)
        if tables:
            raise DeleteRefusedError(f"refused: it holds tables now ({', '.join(tables)}); kept")
        try:
            ctx.api.call(f"{BIGQUERY_DATASETS}.delete", **reference(change.address.name))
        except GoogleApiError as error:
            if error.http_status not in (400, 409):
                raise
            raise DeleteRefusedError(f"refused: BigQuery answered {error.message}; kept") from None

    # -- permissions ----------------------------------------------------------------------

    def created_in(self, resource: Resource) -> Address:
        return addresses.project(resource.spec["projectId"])

    def visible(self, ctx: Context, address: Address) -> bool:
        return readable(lambda: get_dataset(ctx, address.name))

    def test_permissions(self, ctx: Context, name: str, permissions: Sequence[str]) -> set[str]:
        """BigQuery datasets answer no testIamPermissions (bigquery.v2.json): asked of the
        dataset's project instead, so a role granted only on the dataset shows as missing."""
        project_id, _ = addresses.split_bigquery_dataset_name(name)
        return resource_manager.test_permissions(
            ctx.api, addresses.project_name(project_id), permissions
        )

    # -- removing -------------------------------------------------------------------------

    def removal_read(self, ctx: Context, resource: Resource) -> JSON | None:
        """Its labels; for a dataset provision owns, also its first tables (`HOLDS`)."""
        dataset = get_dataset(ctx, resource.address.name)
        if dataset is None:
            return None
        labels = dict(dataset.get("labels") or {})
        state: JSON = {"labels": labels}
        if ownership.is_managed(labels):
            state[HOLDS] = first_tables(ctx, resource.address.name)
        return state

    def plan_removal(
        self, ctx: Context, resource: Resource, state: JSON, scope: RemovalScope
    ) -> Change:
        """Owned and holding no table: delete; otherwise keep, saying why."""
        labels = state.get("labels") or {}
        if not ownership.is_managed(labels):
            return removal(resource, {"labels": dict(labels)}, Action.FORGET, ownership.NOT_MANAGED)
        held = state.get(HOLDS) or []
        if held:
            why = (
                f"holds tables ({', '.join(held)}); provision never deletes BigQuery data: "
                "delete the tables first to remove it"
            )
            return removal(resource, state, Action.FORGET, why)
        return removal(resource, state, Action.DELETE, f"owned and {EMPTY}")


def first_tables(ctx: Context, name: str) -> list[str]:
    """The ids of the dataset's first tables (one tables.list)."""
    page = ctx.api.call(f"{BIGQUERY_TABLES}.list", **reference(name), maxResults=TABLE_SAMPLE)
    return sorted(
        str((table.get("tableReference") or {}).get("tableId", ""))
        for table in page.get("tables") or []
    )


def owned(spec: Mapping[str, Any]) -> JSON:
    wanted: JSON = {
        "projectId": spec["projectId"],
        "datasetId": spec["datasetId"],
        "location": normal_location(spec.get("location")),
        "labels": ownership.with_label(spec.get("labels")),
        "adopt": bool(spec.get("adopt", False)),
    }
    if spec.get("description") is not None:
        wanted["description"] = str(spec["description"])
    return wanted


def observe(dataset: Mapping[str, Any]) -> Observed:
    fields: JSON = {
        "location": normal_location(dataset.get("location")),
        "labels": dict(dataset.get("labels") or {}),
    }
    if dataset.get("description") is not None:
        fields["description"] = dataset["description"]
    etag = dataset.get("etag")
    return Observed(exists=True, fields=fields, etag=str(etag) if etag else None)
