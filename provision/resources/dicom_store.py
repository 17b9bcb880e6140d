"""Kind `healthcare.dicom_store` (`projects/{p}/locations/{l}/datasets/{d}/dicomStores/{s}`).

spec = {"labels": {..}, "notificationConfigs": [{"pubsubTopic"}], "streamConfigs":
        [{"bigqueryDestination": {"tableUri", "writeDisposition"?, "includeSourceStore"?,
        "schemaFlattened"?: {}, "schemaJson"?: {}}}], "adopt": bool, "deletionProtection": bool}

* Labels are additive (declared keys are set, others left alone) plus `managed-by: provision`,
  which marks the store as provision's, and `deletion-protection: true|false`, which keeps the
  blueprint's `deletionProtection` on the store itself: a protected store is never deleted, even
  when named with --allow-delete. An existing store without the label needs `adopt: true` and is
  then managed without either label (see `ownership`).
* The notification and stream configs belong to the blueprint: they are made to match exactly.
  Notifications are only ever written as `notificationConfigs`. A store whose deprecated
  single `notificationConfig` is set is read as having it as the first item of
  `notificationConfigs`, and the next update moves it there.
* Create is synchronous; an update is one PATCH whose `updateMask` lists exactly the fields
  that differ.
* Google verifies each stream's BigQuery dataset when a store is created or its
  `streamConfigs` patched: 403 "failed to verify dataset" while the Cloud Healthcare Service
  Agent lacks `roles/bigquery.dataEditor` there. The blueprint's grant is applied first (a
  dependency); since IAM changes take a while to take effect, a create or patch refused so
  while the dataset's access already lists the agent as an editor is sent again with bounded
  backoff (`streams_when_granted`). Refused without such an entry, it fails at once.
* What it holds is its studies (`healthcare.store_contents`, one QIDO-RS search).
  `provision destroy` removes a store provision owns when it holds none, or when named with
  --allow-delete (then with its studies), never one with deletion protection on; `delete`
  searches again right before deleting and refuses when the store holds studies the plan did
  not show.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from provision.errors import ApplyError, GoogleApiError
from provision.gcp.methods import DICOM_STORES
from provision.model import JSON, Action, Address, Change, FieldDiff, Observed, Resource
from provision.resources import addresses, healthcare, ownership
from provision.resources.base import (
    HOLDS,
    Contents,
    Context,
    Kind,
    Needs,
    Options,
    Probe,
    RemovalScope,
    compared,
    map_diffs,
    readable,
    refuse_unless_planned,
    removal,
)
from provision.resources.healthcare import get_store, read_store, store_contents
from provision.resources.registry import register

CONFIG_FIELDS = ("notificationConfigs", "streamConfigs")
"""The configs the blueprint owns, written as declared."""
LEGACY_NOTIFICATION = "notificationConfig"
"""The DicomStore's deprecated single notification config (healthcare.v1.json). Google refuses
a body that sets it together with `notificationConfigs` ("NotificationConfig and
NotificationConfigs are not compatible. NotificationConfig is being deprecated, please use
NotificationConfigs instead"), so it is never written, only moved out of: an update whose mask
names it (with no value in the body) clears it."""
MOVE_REASON = "moving the deprecated notificationConfig into notificationConfigs"
SCHEMA_FIELDS = ("schemaFlattened", "schemaJson")
"""The (empty) messages of a DicomBigQueryDestination that choose its table schema."""
UNVERIFIED = "failed to verify dataset"
"""How Google's 403 starts when the agent lacks bigquery.dataEditor on a stream's dataset
(quoted in terraform-provider-google issues 13721 and 11820)."""


@register
class DicomStoreKind(Kind):
    name = addresses.DICOM_STORE
    api = healthcare.API
    requires_services = frozenset({healthcare.SERVICE})
    removable = True
    noun = "DICOM store"
    needs = Needs(
        "roles/healthcare.dicomStoreAdmin",
        ("healthcare.dicomStores.get", "healthcare.dicomStores.update"),
        ("healthcare.dicomStores.create",),
    )

    def outputs(self, ctx: Context, change: Change) -> Mapping[str, str]:
        """The store's DICOMweb URL (at the endpoint requests go to)."""
        return {"dicomweb": f"{ctx.api.base_url(self.api)}/v1/{change.address.name}/dicomWeb"}

    def read(self, ctx: Context, resource: Resource) -> Observed:
        store = read_store(ctx, resource.address.name)
        return Observed.absent() if store is None else observe(store)

    def diff(self, resource: Resource, observed: Observed, options: Options) -> Change:
        wanted = owned(resource.spec)
        if not observed.exists:
            diffs = [FieldDiff("labels", None, wanted["labels"])]
            diffs += [FieldDiff(k, None, wanted[k]) for k in CONFIG_FIELDS if wanted.get(k)]
            return Change(
                resource.address,
                Action.CREATE,
                after=wanted,
                diffs=tuple(diffs),
                depends_on=resource.depends_on,
                observed_exists=False,
            )
        fields = observed.fields
        current_labels = fields.get("labels") or {}
        wanted, reason = ownership.managed_or_adopted(
            resource, current_labels, wanted, "DICOM store", "dicomStores"
        )
        diffs = map_diffs("labels", current_labels, wanted["labels"])
        if fields.get(LEGACY_NOTIFICATION):
            diffs.append(FieldDiff(LEGACY_NOTIFICATION, fields[LEGACY_NOTIFICATION], None))
            reason = reason or MOVE_REASON
        diffs += [
            FieldDiff(key, fields.get(key), wanted.get(key))
            for key in CONFIG_FIELDS
            if normal_config(key, fields.get(key)) != normal_config(key, wanted.get(key))
        ]
        return compared(resource, observed, wanted, diffs, reason)

    # -- applying -------------------------------------------------------------------------

    def create(self, ctx: Context, change: Change) -> Observed | None:
        spec = change.after or {}
        dataset, store_id = addresses.split_store_name(change.address.name)
        body: JSON = {"labels": dict(spec["labels"])}
        for key in CONFIG_FIELDS:
            if spec.get(key):
                body[key] = spec[key]
        try:
            store = streams_when_granted(
                ctx,
                change,
                lambda: ctx.api.call(
                    f"{DICOM_STORES}.create", parent=dataset, dicomStoreId=store_id, body=body
                ),
            )
        except GoogleApiError as error:
            if error.http_status != 409:
                raise
            found = get_store(ctx, change.address.name)
            return self.adopt_after_conflict(ctx, change, None if found is None else observe(found))
        return observe(store)

    def update(self, ctx: Context, change: Change) -> Observed | None:
        spec = change.after or {}
        paths = set(change.fields_changed)
        if LEGACY_NOTIFICATION in paths:  # its config moves into the list, written whole
            paths.add("notificationConfigs")
        mask = sorted(paths)
        if not mask:
            return None
        body: JSON = {}
        if "labels" in mask:
            fresh = get_store(ctx, change.address.name)
            body["labels"] = ownership.labels_to_write(fresh, spec["labels"])
        for key in CONFIG_FIELDS:
            if key in mask:
                body[key] = spec.get(key) or []
        store = streams_when_granted(
            ctx,
            change,
            lambda: ctx.api.call(
                f"{DICOM_STORES}.patch",
                name=change.address.name,
                updateMask=",".join(mask),
                body=body,
            ),
        )
        return observe(store)

    def delete(self, ctx: Context, change: Change) -> None:
        """Delete an orphaned store (only reached with --allow-delete naming it)."""
        store = get_store(ctx, change.address.name)
        if store is None:
            return
        if not ownership.is_managed(store.get("labels")):
            raise ApplyError(
                f"{change.address}: no longer labelled managed-by: provision; not deleting it"
            )
        if ownership.is_protected(store.get("labels")):
            raise ApplyError(str(ownership.protected_error(change.address, "the store")))
        refuse_unless_planned(change, store_contents(ctx, change.address.name))
        ctx.api.call(f"{DICOM_STORES}.delete", name=change.address.name)

    # -- verifying ------------------------------------------------------------------------

    def probes(self, resource: Resource) -> list[Probe]:
        """The store answers QIDO-RS searches (200 or 204 both pass)."""
        name = resource.address.name
        return [Probe("DICOMweb answers", name, lambda ctx: dicomweb_answers(ctx, name))]

    # -- permissions ----------------------------------------------------------------------

    def created_in(self, resource: Resource) -> Address:
        """The store's dataset."""
        return addresses.dataset(*addresses.split_dataset_name(resource.address.name))

    def visible(self, ctx: Context, address: Address) -> bool:
        return readable(lambda: get_store(ctx, address.name))

    def test_permissions(self, ctx: Context, name: str, permissions: Sequence[str]) -> set[str]:
        return healthcare.test_permissions(ctx, DICOM_STORES, name, permissions)

    # -- removing -------------------------------------------------------------------------

    def removal_read(self, ctx: Context, resource: Resource) -> JSON | None:
        """Its labels; for a store provision may delete (owned, unprotected), also its studies
        (`HOLDS`, one QIDO-RS search)."""
        store = get_store(ctx, resource.address.name)
        if store is None:
            return None
        labels = dict(store.get("labels") or {})
        state: JSON = {"labels": labels}
        if ownership.is_managed(labels) and not ownership.is_protected(labels):
            contents = store_contents(ctx, resource.address.name)
            state.update({"contents": contents.summary, HOLDS: sorted(contents.items)})
        return state

    def plan_removal(
        self, ctx: Context, resource: Resource, state: JSON, scope: RemovalScope
    ) -> Change:
        """Owned, unprotected, and empty or named: delete; otherwise keep, saying why."""
        labels = state.get("labels") or {}
        fields: JSON = {"labels": dict(labels)}
        if not ownership.is_managed(labels):
            return removal(resource, fields, Action.FORGET, ownership.NOT_MANAGED)
        if ownership.is_protected(labels):
            return removal(
                resource,
                fields,
                Action.FORGET,
                f"deletion protection is on (label {ownership.PROTECTION_KEY}); set "
                "`deletionProtection: false` on the store and apply first",
            )
        contents = Contents(frozenset(state.get(HOLDS) or ()), str(state.get("contents", "")))
        fields = {**fields, "contents": contents.summary, HOLDS: sorted(contents.items)}
        if scope.is_named(resource.address):
            reason = f"named with --allow-delete; {contents.summary}"
            return removal(resource, fields, Action.DELETE, reason)
        if contents.empty:
            return removal(resource, fields, Action.DELETE, f"owned and {healthcare.NO_STUDIES}")
        return removal(
            resource,
            fields,
            Action.FORGET,
            f"{contents.summary.partition(';')[0]}: refusing to delete it without "
            f"--allow-delete {resource.address}",
        )


def streams_when_granted(ctx: Context, change: Change, send: Callable[[], JSON]) -> JSON:
    """`send()` (a create or patch); while Google answers 403 "failed to verify dataset"
    although every streamed dataset's access lists the agent as an editor (the grant has not
    taken effect yet), send it again with bounded backoff."""
    answers: list[JSON] = []
    refusals: list[GoogleApiError] = []

    def attempt() -> bool:
        try:
            answers.append(send())
        except GoogleApiError as error:
            if error.http_status != 403 or UNVERIFIED not in error.message:
                raise
            missing = ungranted_streams(ctx, change)
            if missing:
                raise ApplyError(
                    f"{change.address}: {error.message}; the Cloud Healthcare Service Agent "
                    f"needs roles/bigquery.dataEditor on {', '.join(missing)} (declare the "
                    "dataset in `bigqueryDatasets` and provision grants it)"
                ) from None
            refusals.append(error)
            return False
        return True

    try:
        ctx.api.wait_until(
            attempt,
            what=f"{change.address}: the service agent's BigQuery grant to take effect",
            progress=ctx.progress,
        )
    except GoogleApiError as error:
        if not refusals:
            raise
        raise ApplyError(
            f"{change.address}: {refusals[-1].message} (still refused after waiting: "
            f"{error.message})"
        ) from None
    return answers[-1]


def ungranted_streams(ctx: Context, change: Change) -> list[str]:
    """The BigQuery datasets (`project:dataset`) the store streams to whose access does not
    list the store project's Cloud Healthcare Service Agent as an editor."""
    from provision.resources import bigquery_dataset_iam
    from provision.resources.service_agent import agent_member

    project_id = addresses.split_dataset_name(change.address.name)[0]
    member = str(ctx.facts.resolve_fully(agent_member(project_id, healthcare.SERVICE), "agent"))
    missing = []
    for config in (change.after or {}).get("streamConfigs") or []:
        table = str(config["bigqueryDestination"]["tableUri"])
        bq_project, bq_dataset = addresses.bigquery_dataset_of_table(table)
        name = addresses.bigquery_dataset_name(bq_project, bq_dataset)
        if not bigquery_dataset_iam.agent_edits(ctx, name, member):
            missing.append(f"{bq_project}:{bq_dataset}")
    return missing


def dicomweb_answers(ctx: Context, name: str) -> tuple[bool, str]:
    """For `verify`: the store's study and instance counts, from two QIDO-RS searches."""
    studies = len(healthcare.search(ctx, name, "studies"))
    instances = len(healthcare.search(ctx, name, "instances"))
    return True, f"{healthcare.counted(studies, 'study')}, {healthcare.counted(instances)}"


def owned(spec: Mapping[str, Any]) -> JSON:
    """The fields the blueprint owns, normalised, with the ownership label."""
    protect = bool(spec.get("deletionProtection", True))
    wanted: JSON = {
        "labels": {
            **ownership.with_label(spec.get("labels")),
            **ownership.protection_label(protect),
        },
        "adopt": bool(spec.get("adopt", False)),
        "deletionProtection": protect,
    }
    for key in CONFIG_FIELDS:
        value = normal_config(key, spec.get(key))
        if value:
            wanted[key] = value
    return wanted


def normal_config(key: str, value: Any) -> Any:
    """Configs as compared: only the keys provision manages, `false` flags dropped."""
    if key == LEGACY_NOTIFICATION:
        if not isinstance(value, Mapping) or not value.get("pubsubTopic"):
            return None
        config: JSON = {"pubsubTopic": value["pubsubTopic"]}
        if value.get("sendForBulkImport"):
            config["sendForBulkImport"] = True
        return config
    items = [v for v in value or [] if isinstance(v, Mapping)]
    if key == "notificationConfigs":
        return [{"pubsubTopic": v.get("pubsubTopic")} for v in items] or None
    return [{"bigqueryDestination": normal_destination(v)} for v in items] or None


def normal_destination(item: Mapping[str, Any]) -> JSON:
    """A stream's DicomBigQueryDestination as compared: the deprecated `force` read as the
    `writeDisposition` healthcare.v1.json says it is equivalent to (true: WRITE_TRUNCATE) when
    no disposition is set, Google's unspecified values dropped."""
    destination = item.get("bigqueryDestination") or {}
    normal: JSON = {"tableUri": destination.get("tableUri")}
    disposition = destination.get("writeDisposition")
    if disposition in (None, "", "WRITE_DISPOSITION_UNSPECIFIED") and destination.get("force"):
        disposition = "WRITE_TRUNCATE"
    if disposition not in (None, "", "WRITE_DISPOSITION_UNSPECIFIED"):
        normal["writeDisposition"] = disposition
    if destination.get("includeSourceStore"):
        normal["includeSourceStore"] = True
    for schema in SCHEMA_FIELDS:
        if isinstance(destination.get(schema), Mapping):
            normal[schema] = {}
    return normal


def observe(store: Mapping[str, Any]) -> Observed:
    """The store as planned: a deprecated `notificationConfig` is kept as it is (to plan its
    move) and also read as the first item of `notificationConfigs`."""
    fields: JSON = {"labels": dict(store.get("labels") or {})}
    legacy = normal_config(LEGACY_NOTIFICATION, store.get(LEGACY_NOTIFICATION))
    if legacy:
        fields[LEGACY_NOTIFICATION] = legacy
    for key in CONFIG_FIELDS:
        value = store.get(key)
        if key == "notificationConfigs" and legacy:
            value = [legacy, *(value or [])]
        value = normal_config(key, value)
        if value:
            fields[key] = value
    return Observed(exists=True, fields=fields)
