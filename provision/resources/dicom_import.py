"""Kind `healthcare.dicom_import`: a `dicomStores.import` from a `gs://` URI, run again when
objects under the URI change.

Address name: `{store}/imports/{uri_hash(uri)}`. spec = {"store": store name, "uri": "gs://...",
"blobStorageClass"?: "STANDARD" | "NEARLINE" | "COLDLINE" | "ARCHIVE"}.

No state file: what happened is recorded on the store itself, as one label per URI,
`provision-import-<8 hex of sha256(uri)>` (the import's marker):

* `op-<operation id>[-n<objects>-g<generation>]` once the import is started. Google's
  OperationMetadata names neither the store nor the URI (only `apiMethodName`, times,
  `logsUrl`, `counter`), and v1 `datasets.operations.list` takes no filter, so scanning the
  dataset's operations could not tell which import one belongs to; the label ties the
  operation to its import instead;
* `done[-n<objects>-g<generation>[-c<class>]]` once that operation succeeded.

`n<objects>-g<generation>` (`Imported`) is what the import read: how many objects matched the
URI when it was started, and the newest `generation` among them (Cloud Storage gives every
object write a new, larger generation); `c<class>` the blob storage class it stored into (`s`,
`n`, `c`, `a`: STANDARD, NEARLINE, COLDLINE, ARCHIVE). Plain `op-<id>` and `done`, and markers
without a class, come from imports recorded before provision kept these.

A finished import whose declared class (its own, else its store's, else STANDARD) differs from
the recorded one plans an `update`: Google moves nothing when the class changes (the class is
sent with an import; `--reimport` skips instances the store holds), so the plan says the
instances already imported stay where they are and how to move them
(`dicomStores.setBlobStorageSettings`), and applying it only records the new class.

Planning reads the store (one GET) and, when the label names an operation, that operation (one
GET): a running operation -> `run` that waits for it instead of starting another; a failed or
unknown operation, or no label -> `run`. A finished import (`done`, or a succeeded operation)
that recorded what it read lists the URI's objects: objects with a newer generation (added or
rewritten since) -> `run`, saying how many; none -> `no-op`. `--reimport` (`Options.reimport`)
always plans `run`, for every import or for the ones named (`Options.reimport_only`). Google
ignores instances already in the store, so a re-run never duplicates data; it only costs time.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from provision.errors import ApplyError, GoogleApiError
from provision.gcp.methods import DICOM_STORES, HEALTHCARE_OPERATIONS, OBJECTS
from provision.model import JSON, Action, Address, Change, FieldDiff, Observed, Resource
from provision.resources import addresses, bucket_iam, healthcare
from provision.resources.addresses import uri_hash
from provision.resources.base import (
    Context,
    Kind,
    Needs,
    Options,
    Probe,
    require,
    resource_of,
)
from provision.resources.healthcare import READER_ROLE, READER_ROLES, read_store
from provision.resources.iam_policy import roles_held
from provision.resources.registry import register

LABEL_PREFIX = "provision-import-"
DONE = "done"
OP_PREFIX = "op-"
STORAGE_CLASS = "blobStorageClass"
"""Spec key: the blob storage class the import stores into (ImportDicomDataRequest's
`blobStorageSettings.blobStorageClass`); absent: Google's default, STANDARD."""
DEFAULT_CLASS = "STANDARD"
_CLASS_LETTERS = {"STANDARD": "s", "NEARLINE": "n", "COLDLINE": "c", "ARCHIVE": "a"}
_LETTER_CLASSES = {letter: name for name, letter in _CLASS_LETTERS.items()}
IMPORT_METHOD = "google.cloud.healthcare.v1.dicom.DicomService.ImportDicomData"
NOTHING_YET = (
    "nothing to import yet (no objects match); upload the DICOM files, then run apply again"
)

_SNAPSHOT = re.compile(
    r"^(?P<head>.*?)-n(?P<objects>[0-9]+)-g(?P<generation>[0-9]+)(?:-c(?P<cls>[snca]))?$"
)

_label_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def label_key(uri: str) -> str:
    """The store label recording the import of `uri` (a valid Healthcare label key)."""
    return LABEL_PREFIX + uri_hash(uri)


def operation_label(operation_name: str) -> str:
    """`op-<id>` for `.../operations/<id>` (ids are decimal, so a valid label value)."""
    return OP_PREFIX + operation_name.rsplit("/", 1)[-1].lower()


@dataclass(frozen=True)
class Imported:
    """What an import read when it was started: how many objects matched its URI, and the
    newest generation among them; the storage class it stored into ("" when not recorded)."""

    objects: int
    generation: int
    storage_class: str = ""

    def fields(self) -> JSON:
        """As observed fields (`imported`: the count; `generation`: an int64 string;
        `storageClass` when recorded)."""
        fields: JSON = {"imported": self.objects, "generation": str(self.generation)}
        if self.storage_class:
            fields["storageClass"] = self.storage_class
        return fields

    @classmethod
    def of(cls, fields: Mapping[str, Any]) -> Imported | None:
        """From observed fields (`fields`); None when they record nothing."""
        if "imported" not in fields or "generation" not in fields:
            return None
        stored = str(fields.get("storageClass") or "")
        return cls(int(fields["imported"]), int(fields["generation"]), stored)


def marker(state: str, imported: Imported | None) -> str:
    """The label value: `state` (`done` or `op-<id>`), then what the import read.

    At most 3 + 19 + 2 + 10 + 2 + 19 + 3 characters: a valid label value (63 at most)."""
    if imported is None:
        return state
    letter = _CLASS_LETTERS.get(imported.storage_class)
    stored = f"-c{letter}" if letter else ""
    return f"{state}-n{imported.objects}-g{imported.generation}{stored}"


def parse_marker(value: str) -> tuple[str, Imported | None]:
    """The label value's state (`done`, `op-<id>`, or anything else as it is) and what the
    import read (None when not recorded)."""
    match = _SNAPSHOT.match(value)
    if match is None:
        return value, None
    stored = _LETTER_CLASSES.get(match["cls"] or "", "")
    return match["head"], Imported(int(match["objects"]), int(match["generation"]), stored)


def counts_of(operation: Mapping[str, Any]) -> tuple[int, int]:
    """(success, failure) from an operation's `metadata.counter` (int64 strings; absent = 0)."""
    metadata = operation.get("metadata") or {}
    counter = metadata.get("counter") or {} if isinstance(metadata, Mapping) else {}

    def number(key: str) -> int:
        try:
            return int(counter.get(key) or 0)
        except (TypeError, ValueError):
            return 0

    return number("success"), number("failure")


def describe_outcome(
    operation: Mapping[str, Any], *, done: str = "imported", failed: str = "file"
) -> str:
    """E.g. `3 instances imported, 1 file failed; details in Cloud Logging (URL)` (`done`:
    what happened to the instances counted as success; `failed`: what a failure counts)."""
    success, failure = counts_of(operation)
    text = (
        f"{success} instance{'s' if success != 1 else ''} {done}, "
        f"{failure} {failed}{'s' if failure != 1 else ''} failed"
    )
    metadata = operation.get("metadata") or {}
    logs = metadata.get("logsUrl") if isinstance(metadata, Mapping) else None
    if failure or operation.get("error"):
        where = f" ({logs})" if logs else ""
        text += f"; the per-file errors are in Cloud Logging{where}"
    return text


@register
class DicomImportKind(Kind):
    name = addresses.DICOM_IMPORT
    api = healthcare.API
    requires_services = frozenset({healthcare.SERVICE})
    reruns = True
    needs = Needs("roles/healthcare.dicomEditor (on the store)", ("healthcare.dicomStores.import",))

    def checked_on(self, resource: Resource) -> Address:
        """The store it imports into."""
        return addresses.dicom_store(*addresses.split_store_name(resource.spec["store"]))

    def probes(self, resource: Resource) -> list[Probe]:
        """The import is done, and the service agent can read its bucket."""
        store, uri = str(resource.spec["store"]), str(resource.spec["uri"])
        bucket = addresses.bucket_of_uri(uri)
        project_id = addresses.split_dataset_name(store)[0]
        return [
            Probe("import done", f"{store} <- {uri}", lambda ctx: import_done(ctx, store, uri)),
            Probe(
                "service agent reads bucket",
                f"gs://{bucket}",
                lambda ctx: agent_reads(ctx, project_id, bucket),
                shared=True,
            ),
        ]

    def outputs(self, ctx: Context, change: Change) -> Mapping[str, str]:
        """What is imported where, and how the import stands (`before`'s fields)."""
        spec = change.after or {}
        shown = {"store": str(spec.get("store", "")), "uri": str(spec.get("uri", ""))}
        before = change.before or {}
        state = before.get("state")
        shown["status"] = "not run" if state in (None, "absent") else str(state)
        shown.update({k: str(v) for k, v in before.items() if k != "state" and v is not None})
        return shown

    def read(self, ctx: Context, resource: Resource) -> Observed:
        store = read_store(ctx, require(resource.spec, "store", resource.address))
        if store is None:
            return Observed.absent()
        uri = str(resource.spec["uri"])
        value, imported = parse_marker(str((store.get("labels") or {}).get(label_key(uri), "")))
        if value == DONE:
            fields: JSON = {"state": DONE}
        elif not value:
            fields = {"state": "absent"}
        elif not value.startswith(OP_PREFIX):
            fields = {"state": "unknown", "label": value}
        else:
            dataset = resource.spec["store"].split("/dicomStores/")[0]
            op_name = addresses.operation_name(dataset, value.removeprefix(OP_PREFIX))
            fields = operation_state(
                op_name, healthcare.get(ctx, f"{HEALTHCARE_OPERATIONS}.get", name=op_name)
            )
        if imported is not None:
            fields.update(imported.fields())
        if fields["state"] in FINISHED:
            if imported is not None:
                fields.update(changes_since(ctx, uri, imported))
        elif fields["state"] != "running":
            fields["source"] = source_state(ctx, uri)
        return Observed(exists=True, fields=fields)

    def named_by(self, resource: Resource, text: str) -> bool:
        """Its address, its name, or its `gs://` URI."""
        return super().named_by(resource, text) or text == resource.spec.get("uri")

    def awaiting(self, change: Change, *, idle: bool) -> str | None:
        """`STORE <- URI` (its "import done" check) while its source holds no files: planned as
        nothing to import yet, or run and found none."""
        source = (change.before or {}).get("source")
        nothing_yet = change.action is Action.NOOP and source in ("empty", "missing")
        if not (idle or nothing_yet):
            return None
        spec = change.after or {}
        return f"{spec.get('store')} <- {spec.get('uri')}"

    def reads_after(self, address: Address, dependency: Address, dependency_kind: Kind) -> bool:
        """Also after the source bucket: one being created is not listed (the import runs)."""
        return dependency.kind == addresses.BUCKET or super().reads_after(
            address, dependency, dependency_kind
        )

    def diff(self, resource: Resource, observed: Observed, options: Options) -> Change:
        spec = {"store": resource.spec["store"], "uri": resource.spec["uri"]}
        if resource.spec.get(STORAGE_CLASS):
            spec[STORAGE_CLASS] = resource.spec[STORAGE_CLASS]
        fields = dict(observed.fields)
        state = fields.get("state", "absent") if observed.exists else "absent"
        operation = fields.get("operation", "")

        def change(
            action: Action, reason: str, diffs: tuple[FieldDiff, ...] | None = None
        ) -> Change:
            if diffs is None:
                diffs = () if action is Action.NOOP else run_diffs(spec)
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

        if options.reimports(self, resource):
            return change(Action.RUN, "--reimport: importing again")
        if state in FINISHED:
            return _finished(change, spec, fields)
        if fields.get("source") in ("empty", "missing") and state != "running":
            where = "matches no objects" if fields["source"] == "empty" else "names no bucket"
            return change(
                Action.NOOP,
                f"nothing to import yet: {spec['uri']} {where}; upload the DICOM files, "
                "then apply again",
            )
        if state == "running":
            return change(
                Action.RUN,
                f"an import of this URI is still running (operation {operation}); "
                "apply waits for it instead of starting another",
            )
        if state == "failed":
            outcome = f": {fields['outcome']}" if fields.get("outcome") else ""
            return change(
                Action.RUN,
                f"the last import failed (operation {operation}{outcome}); running it again",
            )
        if state == "gone":
            return change(
                Action.RUN,
                f"the last import's operation {operation} no longer exists; running it again",
            )
        return change(Action.RUN, "not imported yet")

    # -- applying -------------------------------------------------------------------------

    def run(self, ctx: Context, change: Change) -> Observed | None:
        spec = change.after or {}
        store, uri = str(spec["store"]), str(spec["uri"])
        before = change.before or {}
        what = f"import of {uri}"
        forced = ctx.options.reimports(self, resource_of(change))
        if before.get("state") == "running" and not forced:
            imported = Imported.of(before)
            finished = await_import(ctx, {"name": before["operation"]}, uri)
        else:
            imported = snapshot(ctx, uri)
            if not imported.objects:
                _report(ctx, f"{what}: {NOTHING_YET}")
                return None
            imported = replace(imported, storage_class=wanted_class(spec))
            finished = import_when_granted(ctx, store, uri, imported, spec.get(STORAGE_CLASS))
        set_label(ctx, store, uri, marker(DONE, imported))
        _report(ctx, f"{what}: {describe_outcome(finished)}")
        success, failure = counts_of(finished)
        return Observed(exists=True, fields={"state": DONE, "success": success, "failure": failure})

    def update(self, ctx: Context, change: Change) -> Observed | None:
        """Record the declared storage class on the finished import's marker; moves nothing
        (see the module docstring)."""
        spec = change.after or {}
        recorded = Imported.of(change.before or {})
        if recorded is None:
            raise ApplyError(f"{change.address}: the import's record was not read")
        store, uri = str(spec["store"]), str(spec["uri"])
        set_label(
            ctx, store, uri, marker(DONE, replace(recorded, storage_class=wanted_class(spec)))
        )
        return Observed(exists=True, fields={"state": DONE})


FINISHED = frozenset({DONE, "succeeded"})
"""Observed states of an import that finished (recorded done, or its operation succeeded)."""


def wanted_class(spec: Mapping[str, Any]) -> str:
    """The storage class an import of `spec` stores into (Google's default when unset)."""
    return str(spec.get(STORAGE_CLASS) or DEFAULT_CLASS)


def _finished(change: Callable[..., Change], spec: Mapping[str, Any], fields: JSON) -> Change:
    """A finished import: `run` when objects under its URI are newer than what it read (when
    it recorded that); else `update` when its declared storage class differs from the
    recorded one (which moves nothing; the reason says how to); else `no-op`."""
    uri = str(spec["uri"])
    newer = int(fields.get("newer") or 0)
    stored, wanted = str(fields.get("storageClass") or ""), wanted_class(spec)
    if newer:
        then = int(fields.get("imported") or 0)
        moved = (
            f"; they are stored as {wanted}, the instances imported before stay {stored}"
            if stored and stored != wanted
            else ""
        )
        return change(
            Action.RUN,
            f"{newer} object{'s' if newer != 1 else ''} under {uri} new or rewritten since the "
            f"last import (which read {then}; {fields.get('objects', 0)} now); importing "
            f"again{moved}",
        )
    if stored and stored != wanted:
        return change(
            Action.UPDATE,
            f"the storage class applies to imports run from now: the instances already "
            f"imported from {uri} stay {stored} (--reimport skips them too) and apply only "
            f"records {wanted}; to move them, call dicomStores.setBlobStorageSettings on "
            f"{spec['store']} with blobStorageClass {wanted} and a filterConfig listing their "
            'studies, or studies.setBlobStorageSettings per study (README "Storage tiers")',
            (FieldDiff(STORAGE_CLASS, stored, wanted),),
        )
    if fields.get("state") == "succeeded":
        return change(Action.NOOP, f"already imported (operation {fields.get('operation', '')})")
    return change(Action.NOOP, "already imported")


class ImportFailedError(ApplyError):
    """An import operation finished with an error; `operation` is what Google reported."""

    def __init__(self, text: str, operation: JSON, error: GoogleApiError) -> None:
        super().__init__(text)
        self.operation = operation
        self.error = error

    @property
    def denied(self) -> bool:
        """The service agent could not read the bucket (and so nothing was imported)."""
        denied = self.error.status == "PERMISSION_DENIED" or self.error.is_permission_denied
        return denied and counts_of(self.operation) == (0, 0)


def run_diffs(spec: Mapping[str, Any]) -> tuple[FieldDiff, ...]:
    """What a planned run shows: the URI, and the storage class when one is set."""
    diffs = [FieldDiff("import", None, spec["uri"])]
    if spec.get(STORAGE_CLASS):
        diffs.append(FieldDiff(STORAGE_CLASS, None, spec[STORAGE_CLASS]))
    return tuple(diffs)


def start_import(
    ctx: Context,
    store: str,
    uri: str,
    imported: Imported | None = None,
    storage_class: str | None = None,
) -> JSON:
    """Call `dicomStores.import` (into `storage_class`, ImportDicomDataRequest's
    `blobStorageSettings`, when given), record its operation (and what it reads) on the
    store, wait for it."""
    body: JSON = {"gcsSource": {"uri": uri}}
    if storage_class:
        body["blobStorageSettings"] = {"blobStorageClass": storage_class}
    operation = ctx.api.call(f"{DICOM_STORES}.import_", name=store, body=body)
    if operation.get("name"):
        set_label(ctx, store, uri, marker(operation_label(str(operation["name"])), imported))
    return await_import(ctx, operation, uri)


def await_import(ctx: Context, operation: JSON, uri: str) -> JSON:
    """Wait for an import operation; ImportFailedError (with its counts) when it failed."""
    what = f"import of {uri}"
    name = str(operation.get("name", ""))
    try:
        return ctx.api.wait(operation, api=healthcare.API, what=what, progress=ctx.progress)
    except GoogleApiError as error:
        failed = (
            healthcare.get(ctx, f"{HEALTHCARE_OPERATIONS}.get", name=name) if name else None
        ) or operation
        text = f"{what} failed: {describe_outcome(failed)}; {error.message}"
        if error.status == "PERMISSION_DENIED" or error.is_permission_denied:
            text += (
                f"; the Cloud Healthcare Service Agent needs {READER_ROLE} on "
                f"gs://{addresses.bucket_of_uri(uri)}"
            )
        raise ImportFailedError(text, failed, error) from None


def import_when_granted(
    ctx: Context,
    store: str,
    uri: str,
    imported: Imported | None = None,
    storage_class: str | None = None,
) -> JSON:
    """Run the import; while it is denied although the bucket policy already grants the agent
    a reading role (IAM changes take minutes to take effect), run it again with bounded
    backoff. Denied without such a grant fails at once."""
    finished: list[JSON] = []
    last: list[ImportFailedError] = []

    def attempt() -> bool:
        try:
            finished.append(start_import(ctx, store, uri, imported, storage_class))
        except ImportFailedError as failure:
            if not failure.denied or not agent_can_read(ctx, store, uri):
                raise
            last.append(failure)
            return False
        return True

    try:
        ctx.api.wait_until(
            attempt,
            what=f"import of {uri}: the service agent's bucket grant to take effect",
            progress=ctx.progress,
        )
    except GoogleApiError as error:
        if not last:
            raise
        raise ApplyError(f"{last[-1]} (still denied after waiting: {error.message})") from None
    return finished[-1]


def agent_can_read(ctx: Context, store: str, uri: str) -> bool:
    """Whether the bucket's IAM policy grants the store project's Healthcare service agent a
    role that reads objects (whether or not the grant has taken effect yet)."""
    project_id = addresses.split_dataset_name(store)[0]
    _, roles = agent_reader_roles(ctx, project_id, addresses.bucket_of_uri(uri))
    return bool(roles)


def agent_reader_roles(ctx: Context, project_id: str, bucket: str) -> tuple[str, list[str]]:
    """The Cloud Healthcare Service Agent of `project_id` (its e-mail), and the roles in
    `READER_ROLES` the IAM policy of `bucket` grants it."""
    from provision.resources.service_agent import agent_member

    member = str(
        ctx.facts.resolve_fully(agent_member(project_id, healthcare.SERVICE), "service agent")
    )
    policy = bucket_iam.get_policy(ctx, addresses.bucket_name(bucket))
    return member.split(":", 1)[1], sorted(roles_held(policy, member) & READER_ROLES)


def import_done(ctx: Context, store: str, uri: str) -> tuple[bool, str]:
    """For `verify`: the import is recorded `done` on the store, and the store holds
    instances."""
    found = ctx.api.call(f"{DICOM_STORES}.get", name=store)
    label = str((found.get("labels") or {}).get(label_key(uri), ""))
    instances = len(healthcare.search(ctx, store, "instances"))
    if parse_marker(label)[0] != DONE:
        state = f"in progress or failed ({label})" if label else "not run yet"
        return False, f"import {state}; the store holds {healthcare.counted(instances)}"
    if not instances:
        return False, "recorded as done, but the store is empty"
    studies = len(healthcare.search(ctx, store, "studies"))
    return True, f"{healthcare.counted(studies, 'study')}, {healthcare.counted(instances)}"


def agent_reads(ctx: Context, project_id: str, bucket: str) -> tuple[bool, str]:
    """For `verify`: the service agent holds a reading role on `bucket`."""
    agent, roles = agent_reader_roles(ctx, project_id, bucket)
    if roles:
        return True, f"{agent} has {', '.join(roles)}"
    return False, f"{agent} lacks {READER_ROLE}; imports from this bucket fail"


def _report(ctx: Context, text: str) -> None:
    if ctx.progress is not None:
        from provision.gcp.operations import Progress

        ctx.progress(Progress(text, 0.0, done=True))


def source_state(ctx: Context, uri: str) -> str:
    """`has-objects`, `empty` (nothing matches) or `missing` (no such bucket)."""
    try:
        return "has-objects" if source_has_objects(ctx, uri) else "empty"
    except ApplyError:
        return "missing"


def source_has_objects(ctx: Context, uri: str) -> bool:
    """Whether any object matches `uri` (listing until the first match).

    Google fails an import whose URI matches nothing; apply instead reports that there is
    nothing to import yet, so a blueprint can create its bucket before files are uploaded.
    """
    return next(matching_objects(ctx, uri), None) is not None


def matching_objects(ctx: Context, uri: str) -> Iterator[JSON]:
    """The objects `uri` matches (listing only under its literal prefix); ApplyError when
    its bucket does not exist."""
    bucket, _, pattern = uri.removeprefix("gs://").partition("/")
    prefix = re.split(r"[*?\[]", pattern, maxsplit=1)[0]
    regex = uri_regex(pattern)
    try:
        for item in ctx.api.pages(f"{OBJECTS}.list", "items", bucket=bucket, prefix=prefix):
            if regex.match(str(item.get("name", ""))):
                yield item
    except GoogleApiError as error:
        if error.http_status == 404:
            raise ApplyError(f"cannot import {uri}: bucket {bucket} does not exist") from None
        raise


def _generation(item: Mapping[str, Any]) -> int:
    """An object's generation (an int64 string); 0 when absent or malformed."""
    try:
        return int(item.get("generation") or 0)
    except (TypeError, ValueError):
        return 0


def snapshot(ctx: Context, uri: str) -> Imported:
    """What an import of `uri` started now reads: how many objects match, the newest
    generation among them."""
    objects, newest = 0, 0
    for item in matching_objects(ctx, uri):
        objects += 1
        newest = max(newest, _generation(item))
    return Imported(objects, newest)


def changes_since(ctx: Context, uri: str, imported: Imported) -> JSON:
    """Observed fields comparing the objects `uri` matches now with what an import read:
    `source`, `objects` (how many match now), `newer` (how many were written after it)."""
    try:
        generations = [_generation(item) for item in matching_objects(ctx, uri)]
    except ApplyError:
        return {"source": "missing"}
    newer = sum(1 for generation in generations if generation > imported.generation)
    return {
        "source": "has-objects" if generations else "empty",
        "objects": len(generations),
        "newer": newer,
    }


def uri_regex(pattern: str) -> re.Pattern[str]:
    """Google's import wildcards: `*` (no `/`), `?` (one character), `**` (anything)."""
    out = ""
    for token in re.split(r"(\*\*|\*|\?)", pattern):
        out += {"**": ".*", "*": "[^/]*", "?": "[^/]"}.get(token, re.escape(token))
    return re.compile(f"^{out}$", re.DOTALL)


def operation_state(name: str, operation: Mapping[str, Any] | None) -> JSON:
    """Observed fields for the operation a label names (None: it no longer exists)."""
    if operation is None:
        return {"state": "gone", "operation": name}
    if not operation.get("done"):
        return {"state": "running", "operation": name}
    if operation.get("error"):
        return {"state": "failed", "operation": name, "outcome": describe_outcome(operation)}
    return {"state": "succeeded", "operation": name}


def set_label(ctx: Context, store: str, uri: str, value: str) -> None:
    """Set the import label on `store`, keeping its other labels (one writer per store here)."""
    with _lock_for(store):
        current = healthcare.get_store(ctx, store)
        if current is None:
            raise ApplyError(f"{store}: the DICOM store is gone; cannot record the import")
        labels = dict(current.get("labels") or {})
        if labels.get(label_key(uri)) == value:
            return
        labels[label_key(uri)] = value
        ctx.api.call(
            f"{DICOM_STORES}.patch", name=store, updateMask="labels", body={"labels": labels}
        )


def _lock_for(store: str) -> threading.Lock:
    with _locks_guard:
        return _label_locks.setdefault(store, threading.Lock())
