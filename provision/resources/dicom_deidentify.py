"""Kind `healthcare.dicom_deidentify`: a one-shot de-identified copy of one DICOM store in another.

Address name: `{destination}/deidentifiedFrom/{uri_hash(source)}`.
spec = {"source": store name, "destination": store name, "config": DeidentifyConfig}

`dicomStores.deidentify` (healthcare.v1.json) copies the source's instances, de-identified, into
a destination store that must exist first, in a dataset of the same location; its operation's
`metadata.counter` counts instances. Google cannot de-identify CMEK-encrypted data (the blueprint
loader refuses such a copy). Like an import (`dicom_import`), it is recorded on the destination
store, as the label `provision-deid-<8 hex of sha256(source)>`: `op-<operation id>` once
started, `done` once it succeeded. Planning reads the destination (the read its store makes)
and the operation a label names:

* `done` or a succeeded operation -> `no-op`; `--rerun` (`Options.rerun`) -> `run` again
  (Google skips instances the copy already holds: their UIDs are derived again the same way);
* a running operation -> `run` that waits for it; a failed or vanished one, or no label -> `run`;
* no label and a source that holds no instance and that no import of the blueprint fills ->
  `no-op` (`nothing to de-identify yet`); apply likewise skips a run whose source is empty.

`verify` checks the label, that the copy holds instances, and that none of them still carries a
value for the tags the config removes (`removed_tags`), from each study's metadata.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provision.errors import ApplyError, GoogleApiError
from provision.gcp.methods import DICOM_STORES, HEALTHCARE_OPERATIONS
from provision.gcp.operations import Progress
from provision.model import JSON, Action, Address, Change, FieldDiff, Observed, Resource
from provision.resources import addresses, healthcare
from provision.resources.addresses import uri_hash
from provision.resources.base import Context, Kind, Needs, Options, Probe, require
from provision.resources.dicom_import import (
    DONE,
    OP_PREFIX,
    describe_outcome,
    operation_label,
    operation_state,
)
from provision.resources.registry import register

LABEL_PREFIX = "provision-deid-"
NOTHING_YET = "nothing to de-identify yet: the source store holds no instances"
_COUNTED = {"done": "de-identified", "failed": "instance"}
"""How a de-identification's operation counts read (`describe_outcome`): instances copied and
instances that failed."""
PATIENT_TAGS = {"00100010": "PatientName", "00100020": "PatientID"}
"""What every profile but KEEP_ALL removes (or, DEIDENTIFY_TAG_CONTENTS, blanks)."""


def label_key(source: str) -> str:
    """The destination store label recording the copy of `source` (a store's full name)."""
    return LABEL_PREFIX + uri_hash(source)


def removed_tags(config: Mapping[str, Any]) -> dict[str, str]:
    """Tags (8 hex digits -> how the blueprint names them) that the copy must not hold a
    value for under `config`: a `removeList`'s tags; the patient's name and id for a
    `keepList` without them and for every profile but `KEEP_ALL_PROFILE`."""
    from pydicom.datadict import tag_for_keyword

    dicom = config.get("dicom") or {}

    def tag(name: str) -> str:
        found = tag_for_keyword(name)
        return f"{found:08X}" if found is not None else name.upper()

    if dicom.get("removeList"):
        return {tag(t): t for t in dicom["removeList"].get("tags") or []}
    if dicom.get("keepList"):
        kept = {tag(t) for t in dicom["keepList"].get("tags") or []}
        return {t: n for t, n in PATIENT_TAGS.items() if t not in kept}
    profile = dicom.get("filterProfile") or "KEEP_ALL_PROFILE"
    return {} if profile == "KEEP_ALL_PROFILE" else dict(PATIENT_TAGS)


@register
class DicomDeidentifyKind(Kind):
    name = addresses.DICOM_DEIDENTIFY
    api = healthcare.API
    requires_services = frozenset({healthcare.SERVICE})
    noun = "de-identified copy"
    needs = Needs(
        "roles/healthcare.dicomStoreAdmin (on the source; dicomEditor on the destination)",
        ("healthcare.dicomStores.deidentify",),
    )

    def checked_on(self, resource: Resource) -> Address:
        """The source store."""
        return addresses.dicom_store(*addresses.split_store_name(resource.spec["source"]))

    def read(self, ctx: Context, resource: Resource) -> Observed:
        destination = require(resource.spec, "destination", resource.address)
        store = healthcare.read_store(ctx, destination)
        if store is None:
            return Observed.absent()
        value = str((store.get("labels") or {}).get(label_key(resource.spec["source"]), ""))
        if value == DONE:
            return Observed(exists=True, fields={"state": DONE})
        if not value.startswith(OP_PREFIX):
            fields: JSON = {"state": "absent"} if not value else {"state": "unknown"}
        else:
            dataset = destination.split("/dicomStores/")[0]
            op_name = addresses.operation_name(dataset, value.removeprefix(OP_PREFIX))
            found = healthcare.get(ctx, f"{HEALTHCARE_OPERATIONS}.get", name=op_name)
            fields = operation_state(op_name, found)
        if fields["state"] != "running":
            fields["sourceHolds"] = source_instances(ctx, resource.spec["source"])
        return Observed(exists=True, fields=fields)

    def reads_after(self, address: Address, dependency: Address, dependency_kind: Kind) -> bool:
        """Also after the source store: one being created holds nothing yet."""
        return dependency.kind == addresses.DICOM_STORE or super().reads_after(
            address, dependency, dependency_kind
        )

    def diff(self, resource: Resource, observed: Observed, options: Options) -> Change:
        spec = {k: resource.spec[k] for k in ("source", "destination", "config")}
        fields = dict(observed.fields)
        state = fields.get("state", "absent") if observed.exists else "absent"
        operation = fields.get("operation", "")
        fed = any(d.kind == addresses.DICOM_IMPORT for d in resource.depends_on)

        def change(action: Action, reason: str) -> Change:
            diffs = (
                () if action is Action.NOOP else (FieldDiff("deidentify", None, spec["source"]),)
            )
            return Change(
                resource.address,
                action,
                before=fields or None,
                after=spec,
                diffs=diffs,
                reason=reason,
                depends_on=resource.depends_on,
                observed_exists=observed.exists,
            )

        if options.rerun:
            return change(Action.RUN, "--rerun: de-identifying again")
        if state in (DONE, "succeeded"):
            return change(Action.NOOP, "already de-identified")
        if state == "running":
            return change(
                Action.RUN,
                f"a copy is still running (operation {operation}); apply waits for it",
            )
        if fields.get("sourceHolds") == 0 and not fed:
            return change(Action.NOOP, NOTHING_YET)
        if state in ("failed", "gone"):
            return change(Action.RUN, f"the last copy did not finish (operation {operation})")
        return change(Action.RUN, "not de-identified yet")

    # -- applying -------------------------------------------------------------------------

    def run(self, ctx: Context, change: Change) -> Observed | None:
        spec = change.after or {}
        source, destination = str(spec["source"]), str(spec["destination"])
        before = change.before or {}
        if before.get("state") == "running" and not ctx.options.rerun:
            finished = await_copy(ctx, {"name": before["operation"]}, source)
        else:
            if not source_instances(ctx, source):
                report(ctx, f"copy of {source}: {NOTHING_YET}")
                return None
            operation = ctx.api.call(
                f"{DICOM_STORES}.deidentify",
                sourceStore=source,
                body={"destinationStore": destination, "config": dict(spec.get("config") or {})},
            )
            if operation.get("name"):
                healthcare.set_store_label(
                    ctx, destination, label_key(source), operation_label(str(operation["name"]))
                )
            finished = await_copy(ctx, operation, source)
        healthcare.set_store_label(ctx, destination, label_key(source), DONE)
        report(ctx, f"de-identified copy of {source}: {describe_outcome(finished, **_COUNTED)}")
        return Observed(exists=True, fields={"state": DONE})

    # -- verifying ------------------------------------------------------------------------

    def probes(self, resource: Resource) -> list[Probe]:
        source, destination = str(resource.spec["source"]), str(resource.spec["destination"])
        tags = removed_tags(resource.spec.get("config") or {})
        return [
            Probe(
                "de-identified copy",
                f"{destination} <- {source}",
                lambda ctx: copy_checked(ctx, source, destination, tags),
            )
        ]


def await_copy(ctx: Context, operation: JSON, source: str) -> JSON:
    what = f"de-identified copy of {source}"
    try:
        return ctx.api.wait(operation, api=healthcare.API, what=what, progress=ctx.progress)
    except GoogleApiError as error:
        name = str(operation.get("name", ""))
        failed = (
            healthcare.get(ctx, f"{HEALTHCARE_OPERATIONS}.get", name=name) if name else None
        ) or operation
        raise ApplyError(
            f"{what} failed: {describe_outcome(failed, **_COUNTED)}; {error.message}"
        ) from None


def source_instances(ctx: Context, store: str) -> int:
    """How many instances a QIDO-RS search of the store finds (0 for a store that is gone)."""
    try:
        return len(healthcare.search(ctx, store, "instances"))
    except GoogleApiError as error:
        if error.http_status == 404:
            return 0
        raise


def copy_checked(
    ctx: Context, source: str, destination: str, tags: Mapping[str, str]
) -> tuple[bool, str]:
    """For `verify`: recorded `done`, the copy holds instances, and none has a value for a
    tag in `tags` (read from each study's metadata)."""
    found = ctx.api.call(f"{DICOM_STORES}.get", name=destination)
    label = str((found.get("labels") or {}).get(label_key(source), ""))
    if label != DONE:
        return False, f"not recorded as done ({label or 'not run yet'})"
    studies = healthcare.search(ctx, destination, "studies")
    held: set[str] = set()
    count = 0
    for study in studies:
        uid = healthcare.study_uid(study)
        metadata = (
            ctx.api.call(
                f"{DICOM_STORES}.studies.retrieveMetadata",
                parent=destination,
                dicomWebPath=f"studies/{uid}/metadata",
            ).get("items")
            or []
        )
        for instance in metadata:
            count += 1
            held |= {tags[t] for t in tags if has_value(instance.get(t))}
    if not count:
        return False, "the copy holds no instances"
    if held:
        return False, f"instances still hold {', '.join(sorted(held))}"
    kept = f"; without {', '.join(sorted(tags.values()))}" if tags else ""
    return True, f"{healthcare.counted(count)}{kept}"


def has_value(element: Any) -> bool:
    """Whether a DICOM JSON element holds a non-empty value."""
    if not isinstance(element, Mapping):
        return False
    values = element.get("Value") or []
    return any(v not in (None, "", {}, {"Alphabetic": ""}) for v in values)


def report(ctx: Context, text: str) -> None:
    if ctx.progress is not None:
        ctx.progress(Progress(text, 0.0, done=True))
