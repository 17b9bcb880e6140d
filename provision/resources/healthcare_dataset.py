"""Kind `healthcare.dataset` (`projects/{p}/locations/{l}/datasets/{d}`): a Healthcare dataset.

spec = {"projectId", "location", "datasetId", "timeZone"?: str, "adopt": bool,
        "declaredLocations": [locations of datasets with this id in the blueprint],
        "encryptionSpec"?: {"kmsKeyName": "projects/.../cryptoKeys/K"}}

* Create is a long-running operation; apply waits for it. Right after it, calls under the
  dataset may answer 404 "dataset not initialized"; the retry layer retries exactly that.
* The time zone is patched in place (`updateMask=timeZone`); no `timeZone` in the blueprint
  leaves it alone. The location is part of the name and cannot change: a dataset with the same
  id that provision manages in another location is a plan error naming `location`.
* Ownership: datasets have no labels, so a dataset counts as provision's when it is empty or
  holds a store labelled `managed-by: provision`; any other existing dataset needs
  `adopt: true`. For the same reason its deletion protection lives on its stores: a dataset is
  deleted (only when named with --allow-delete) only if every store in it is provision's and
  labelled `deletion-protection: false`. The read lists the dataset's stores for this, and
  `orphans` reports the stores provision labelled that the blueprint no longer declares.
* CMEK: `encryptionSpec.kmsKeyName` is given at creation only (Google cannot change it): a
  dataset whose key differs from the blueprint's (or that has one when the blueprint names none,
  or none when it names one) is a plan error saying the dataset must be recreated. The dataset
  depends on the Cloud Healthcare Service Agent's grant on its key (`kms.crypto_key_iam`), and
  its create, while Google refuses the key (403) although the key's policy grants the agent its
  role (IAM takes a while to take effect), is tried again with bounded backoff. `verify`
  checks the dataset's key.
* While planning, the dataset itself is answered by its location's `datasets.list` (kind
  `healthcare.location`); only a dataset that list did not show is read with `datasets.get`.
* What it holds is its stores of every type: DICOM, FHIR, HL7v2 and consent (`dataset_contents`,
  one list per type). Provision manages only DICOM stores, so a dataset holding a store of
  another type, or a DICOM store without the label, is never deleted. `provision destroy`
  deletes a dataset only when named with --allow-delete (its DICOM stores with it, none of them
  protected); `delete` lists the stores again right before deleting and refuses when there is
  a store the plan did not show.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from provision.errors import ApplyError, GoogleApiError, PlanError
from provision.gcp.methods import DATASETS
from provision.gcp.operations import OperationTimeoutError
from provision.model import JSON, Action, Address, Change, FieldDiff, Observed, Resource
from provision.resources import addresses, healthcare, kms, ownership
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
    readable,
    refuse_unless_planned,
    removal,
)
from provision.resources.healthcare import (
    dataset_contents,
    foreign_stores,
    get_dataset,
    list_dicom_stores,
    read_dataset,
)
from provision.resources.iam_policy import roles_held
from provision.resources.registry import register

DEFAULT_TIME_ZONE = "UTC"
LOCATION_CHECKS = 8
"""Concurrent reads when looking for a dataset in other locations."""


@register
class DatasetKind(Kind):
    name = addresses.DATASET
    api = healthcare.API
    requires_services = frozenset({healthcare.SERVICE})
    removable = True
    noun = "dataset"
    needs = Needs(
        "roles/healthcare.datasetAdmin",
        ("healthcare.datasets.get", "healthcare.datasets.update"),
        ("healthcare.datasets.create",),
    )

    def answered_by(self, resource: Resource) -> tuple[Address, ...]:
        """The location's dataset scan: its `datasets.list` answers this dataset's read."""
        spec = resource.spec
        return (addresses.healthcare_location(spec["projectId"], spec["location"]),)

    def outputs(self, ctx: Context, change: Change) -> Mapping[str, str]:
        """A CMEK dataset's key (as read, else as the blueprint says)."""
        key = (change.before or {}).get("kmsKeyName") or key_of(change.after or {})
        return {"kmsKeyName": str(key)} if key else {}

    def read(self, ctx: Context, resource: Resource) -> Observed:
        name = resource.address.name
        dataset = read_dataset(ctx, name)
        if dataset is None:
            return Observed(exists=False, fields={"elsewhere": moved_from(ctx, resource)})
        return observe(dataset, list_dicom_stores(ctx, name))

    def diff(self, resource: Resource, observed: Observed, options: Options) -> Change:
        spec = resource.spec
        wanted = owned(spec)
        where = str(resource.source) if resource.source else "its `datasets` entry"
        if not observed.exists:
            elsewhere = observed.fields.get("elsewhere") or []
            if elsewhere:
                raise PlanError(
                    f"{resource.address}: location: dataset {spec['datasetId']!r} already "
                    f"exists in {', '.join(elsewhere)} (managed by provision) but the blueprint "
                    f"now says {spec['location']!r}; a dataset's location cannot be changed. "
                    "Put the location back, or give the dataset a new id (the old one is then "
                    "left as it is)"
                )
            created = [FieldDiff("location", None, spec["location"])]
            if "timeZone" in wanted:
                created.append(FieldDiff("timeZone", None, wanted["timeZone"]))
            if key_of(wanted):
                created.append(FieldDiff("encryptionSpec.kmsKeyName", None, key_of(wanted)))
            return Change(
                resource.address,
                Action.CREATE,
                after=wanted,
                diffs=tuple(created),
                depends_on=resource.depends_on,
                observed_exists=False,
            )
        fields = observed.fields
        stores = fields.get("stores") or []
        reason = ""
        if not is_ours(stores):
            if not spec.get("adopt"):
                names = ", ".join(s["id"] for s in stores[:5])
                raise ownership.not_ours(
                    resource.address,
                    "dataset",
                    where,
                    f"it holds {len(stores)} DICOM store(s) ({names}), none labelled "
                    "managed-by: provision",
                )
            reason = ownership.ADOPT_REASON.format(what="dataset")
        check_key_unchanged(resource, fields.get("kmsKeyName"))
        diffs: list[FieldDiff] = []
        if "timeZone" in wanted:
            current = normal_time_zone(fields.get("timeZone"))
            if current != wanted["timeZone"]:
                diffs.append(FieldDiff("timeZone", current, wanted["timeZone"]))
        before = {k: v for k, v in fields.items() if k in ("timeZone", "stores", "kmsKeyName")}
        return compared(resource, observed, wanted, diffs, reason, before)

    def orphans(
        self, ctx: Context, resource: Resource, observed: Observed, desired: frozenset[Address]
    ) -> Iterable[tuple[Address, Observed]]:
        """Stores labelled `managed-by: provision` in this dataset that the blueprint dropped."""
        if not observed.exists:
            return []
        found = []
        for store in observed.fields.get("stores") or []:
            address = addresses.dicom_store(resource.address.name, store["id"])
            if not store.get("managed") or address in desired:
                continue
            fields: JSON = {"labels": dict(store.get("labels") or {})}
            if str(address) in ctx.options.allow_delete:
                if ownership.is_protected(fields["labels"]):
                    raise ownership.protected_error(address, "the store")
                contents = healthcare.store_contents(ctx, address.name)
                fields.update({"contents": contents.summary, HOLDS: sorted(contents.items)})
            found.append((address, Observed(exists=True, fields=fields)))
        return found

    # -- applying -------------------------------------------------------------------------

    def create(self, ctx: Context, change: Change) -> Observed | None:
        spec = change.after or {}
        name = change.address.name
        project, location, dataset_id = addresses.split_dataset_name(name)
        body: JSON = {}
        if spec.get("timeZone"):
            body["timeZone"] = spec["timeZone"]
        if key_of(spec):
            body["encryptionSpec"] = {"kmsKeyName": key_of(spec)}

        def created() -> JSON:
            operation = ctx.api.call(
                f"{DATASETS}.create",
                parent=addresses.location_name(project, location),
                datasetId=dataset_id,
                body=body,
            )
            return ctx.api.wait(
                operation,
                api=healthcare.API,
                what=f"creating dataset {name}",
                progress=ctx.progress,
            )

        try:
            done = create_when_key_granted(ctx, change, created)
        except GoogleApiError as error:
            if error.http_status != 409:
                raise
            found = get_dataset(ctx, name)
            seen = None if found is None else observe(found, list_dicom_stores(ctx, name))
            return self.adopt_after_conflict(ctx, change, seen)
        response = done.get("response")
        dataset = response if isinstance(response, dict) and response.get("name") else None
        if dataset is None:
            dataset = get_dataset(ctx, name) or {"name": name}
        return observe(dataset, [])

    def update(self, ctx: Context, change: Change) -> Observed | None:
        spec = change.after or {}
        if not any(d.path == "timeZone" for d in change.diffs):
            return None
        dataset = ctx.api.call(
            f"{DATASETS}.patch",
            name=change.address.name,
            updateMask="timeZone",
            body={"timeZone": spec["timeZone"]},
        )
        stores = (change.before or {}).get("stores") or []
        return observe(dataset, stores)

    def delete(self, ctx: Context, change: Change) -> None:
        """Delete an orphaned dataset (only reached with --allow-delete naming it)."""
        name = change.address.name
        if get_dataset(ctx, name) is None:
            return
        stores = list_dicom_stores(ctx, name)
        if not is_ours(stores):
            raise ApplyError(
                f"{change.address}: it no longer holds a store labelled managed-by: provision; "
                "not deleting it"
            )
        protected = [s["id"] for s in stores if dataset_store_protected(s)]
        if protected:
            raise ApplyError(str(ownership.protected_error(change.address, protected[0])))
        refuse_unless_planned(change, dataset_contents(ctx, name))
        ctx.api.call(f"{DATASETS}.delete", name=name)

    # -- permissions ----------------------------------------------------------------------

    def created_in(self, resource: Resource) -> Address:
        return addresses.project(resource.spec["projectId"])

    def visible(self, ctx: Context, address: Address) -> bool:
        return readable(lambda: get_dataset(ctx, address.name))

    def test_permissions(self, ctx: Context, name: str, permissions: Sequence[str]) -> set[str]:
        return healthcare.test_permissions(ctx, DATASETS, name, permissions)

    # -- verifying ------------------------------------------------------------------------

    def probes(self, resource: Resource) -> list[Probe]:
        """A CMEK dataset is encrypted with the blueprint's key."""
        key = key_of(resource.spec)
        if not key:
            return []
        name = resource.address.name
        return [Probe("encryption key", name, partial(dataset_key, name=name, key=key))]

    # -- removing -------------------------------------------------------------------------

    def removal_read(self, ctx: Context, resource: Resource) -> JSON | None:
        """Its DICOM stores (`list_dicom_stores`) and its stores of every type (`HOLDS`)."""
        name = resource.address.name
        if get_dataset(ctx, name) is None:
            return None
        stores = list_dicom_stores(ctx, name)
        contents = dataset_contents(ctx, name)
        return {"stores": stores, "contents": contents.summary, HOLDS: sorted(contents.items)}

    def plan_removal(
        self, ctx: Context, resource: Resource, state: JSON, scope: RemovalScope
    ) -> Change:
        """Deleted only when named, holding only DICOM stores provision owns, none protected."""
        stores = list(state.get("stores") or [])
        contents = Contents(frozenset(state.get(HOLDS) or ()), str(state.get("contents", "")))
        foreign = foreign_stores(stores, contents)
        if foreign:
            why = f"holds stores provision does not own ({', '.join(foreign)})"
            return removal(resource, state, Action.FORGET, why)
        if not scope.is_named(resource.address):
            why = f"datasets are deleted only when named: --allow-delete {resource.address}"
            return removal(resource, state, Action.FORGET, why)
        protected = [s["id"] for s in stores if dataset_store_protected(s)]
        if protected:
            why = f"store {protected[0]} has deletion protection on"
            return removal(resource, state, Action.FORGET, why)
        held = f"; deletes its {len(stores)} store(s) with their data" if stores else ""
        return removal(resource, state, Action.DELETE, f"named with --allow-delete{held}")


def orphan_deletion(ctx: Context, address: Address, stores: Sequence[Mapping[str, Any]]) -> JSON:
    """What a plan records for a dataset dropped from the blueprint and named with
    --allow-delete (`contents`, `HOLDS`); PlanError when it cannot be deleted: a store is
    protected, or provision does not own one (any store that is not a labelled DICOM store)."""
    protected = [s["id"] for s in stores if dataset_store_protected(s)]
    if protected:
        raise ownership.protected_error(address, f"its store {protected[0]}")
    contents = dataset_contents(ctx, address.name)
    foreign = foreign_stores(stores, contents)
    if foreign:
        raise PlanError(
            f"{address}: it holds stores provision does not own ({', '.join(foreign)}), so it "
            "is not deleted even when named with --allow-delete; delete or move them first"
        )
    return {
        "contents": f"{contents.summary}; deleting the dataset deletes them and all their data",
        HOLDS: sorted(contents.items),
    }


def dataset_store_protected(store: Mapping[str, Any]) -> bool:
    """A store protects its dataset from deletion when it carries deletion protection; stores
    provision does not manage count as protected (their data is someone else's)."""
    return not store.get("managed") or ownership.is_protected(store.get("labels"))


def is_ours(stores: Sequence[Mapping[str, Any]]) -> bool:
    """A dataset is provision's when empty or holding a store labelled managed-by: provision."""
    return not stores or any(s.get("managed") for s in stores)


def moved_from(ctx: Context, resource: Resource) -> list[str]:
    """Other locations where provision manages a dataset with this id (a location change).

    Only called for a dataset that does not exist where the blueprint says; checks each
    Healthcare location the blueprint does not already use for this id.
    """
    spec = resource.spec
    project, dataset_id = spec["projectId"], spec["datasetId"]
    skip = {spec["location"], *spec.get("declaredLocations", [])}

    def managed_here(location: str) -> bool:
        name = addresses.dataset_name(project, location, dataset_id)
        return read_dataset(ctx, name) is not None and is_ours(list_dicom_stores(ctx, name))

    candidates = [loc for loc in healthcare.list_locations(ctx, project) if loc not in skip]
    with ThreadPoolExecutor(max_workers=LOCATION_CHECKS) as pool:
        return [
            loc
            for loc, hit in zip(candidates, pool.map(managed_here, candidates), strict=True)
            if hit
        ]


def owned(spec: Mapping[str, Any]) -> JSON:
    wanted: JSON = {
        "projectId": spec["projectId"],
        "location": spec["location"],
        "datasetId": spec["datasetId"],
        "adopt": bool(spec.get("adopt", False)),
        "declaredLocations": sorted(spec.get("declaredLocations") or []),
    }
    if spec.get("timeZone") is not None:
        wanted["timeZone"] = normal_time_zone(spec["timeZone"])
    if key_of(spec):
        wanted["encryptionSpec"] = {"kmsKeyName": key_of(spec)}
    return wanted


def normal_time_zone(value: Any) -> str:
    """Empty means UTC (the API's documented default)."""
    return str(value) if value else DEFAULT_TIME_ZONE


def observe(dataset: Mapping[str, Any], stores: list[JSON]) -> Observed:
    fields: JSON = {
        "timeZone": normal_time_zone(dataset.get("timeZone")),
        "stores": stores,
        "kmsKeyName": key_of(dataset),
    }
    return Observed(exists=True, fields=fields)


# -- customer-managed encryption keys -------------------------------------------------------

GOOGLE_MANAGED = "Google-managed encryption"


def key_of(spec_or_dataset: Mapping[str, Any]) -> str | None:
    """The `encryptionSpec.kmsKeyName` of a spec or of a dataset Google answered (None: none)."""
    spec = spec_or_dataset.get("encryptionSpec")
    key = spec.get("kmsKeyName") if isinstance(spec, Mapping) else None
    return str(key) if key else None


def check_key_unchanged(resource: Resource, current: Any) -> None:
    """PlanError when the existing dataset's key is not the blueprint's: a dataset's
    encryption is chosen at creation and cannot be changed."""
    wanted = key_of(resource.spec)
    if (current or None) == wanted:
        return
    now = f"is encrypted with {current}" if current else f"uses {GOOGLE_MANAGED}"
    says = f"the key {wanted}" if wanted else GOOGLE_MANAGED
    raise PlanError(
        f"{resource.address}: encryptionSpec.kmsKeyName: the dataset {now} but the blueprint "
        f"says {says}; a dataset's encryption cannot be changed once it is created. The "
        "dataset must be recreated: put the key back, or give the dataset a new id (and move "
        "the data), leaving the old one as it is"
    )


def create_when_key_granted(ctx: Context, change: Change, created: Callable[[], JSON]) -> JSON:
    """`created()` (the dataset's create and its operation); for a CMEK dataset, while Google
    refuses it (401/403, at once or as the operation's error) although the key's policy grants
    the Cloud Healthcare Service Agent its role (the grant has not taken effect yet), again with
    bounded backoff. A refusal without that grant fails at once."""
    key = key_of(change.after or {})
    if key is None:
        return created()
    project_id = (change.after or {})["projectId"]
    finished: list[JSON] = []
    denied: list[GoogleApiError] = []

    def attempt() -> bool:
        try:
            finished.append(created())
        except GoogleApiError as error:
            if not error.is_permission_denied or not agent_holds_key(ctx, project_id, key):
                raise
            denied.append(error)
            return False
        return True

    try:
        ctx.api.wait_until(
            attempt,
            what=f"creating dataset {change.address.name}: the service agent's grant on its "
            "key to take effect",
            progress=ctx.progress,
        )
    except OperationTimeoutError as error:
        if not denied:
            raise
        raise ApplyError(
            f"{change.address}: Google still refuses the key {key}: {denied[-1].message} "
            f"(after waiting: {error.message})"
        ) from None
    return finished[-1]


def agent_holds_key(ctx: Context, project_id: str, key: str) -> bool:
    """Whether the key's IAM policy grants the project's Cloud Healthcare Service Agent
    `roles/cloudkms.cryptoKeyEncrypterDecrypter` (in effect or not)."""
    from provision.resources.service_agent import agent_member

    member = str(ctx.facts.resolve_fully(agent_member(project_id, healthcare.SERVICE), key))
    return kms.ENCRYPTER_ROLE in roles_held(kms.get_key_policy(ctx, key), member)


def dataset_key(ctx: Context, *, name: str, key: str) -> tuple[bool, str]:
    """For `verify`: the dataset `name` is encrypted with `key`."""
    dataset = get_dataset(ctx, name)
    if dataset is None:
        return False, "the dataset does not exist"
    current = key_of(dataset)
    if current != key:
        return False, f"encrypted with {current or GOOGLE_MANAGED}, not {key}"
    return True, key
