"""The contract every resource kind implements, and the context it runs in.

A kind is one module under `provision.resources` defining a `Kind` subclass decorated with
`@register` (see `registry`). The planner calls `read` (API reads only) and the pure `diff`; the
applier calls `create` / `update` / `delete` / `run` with the planned `Change`, whose `after` is
the desired spec (symbols already resolved, see `symbols`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from provision.errors import ApplyError, GoogleApiError, PlanError
from provision.model import JSON, Action, Address, Change, FieldDiff, Observed, Resource
from provision.resources.resource_manager import number_lookup
from provision.resources.symbols import Facts

if TYPE_CHECKING:
    from provision.gcp.api import GoogleApi
    from provision.gcp.operations import Progress


def is_container(dependency: Address, address: Address) -> bool:
    """True when `dependency` contains `address` (same name, or a name prefix at a `/`)."""
    return address.name == dependency.name or address.name.startswith(dependency.name + "/")


@dataclass(frozen=True)
class Options:
    """User choices that change what may be planned or applied."""

    allow_delete: frozenset[str] = frozenset()
    """Addresses (`kind:name`) that may be deleted when no longer in the blueprint."""
    allow_disable_services: frozenset[str] = frozenset()
    """Services that may be disabled when enabled but not listed in the blueprint."""
    allow_remove_own_access: bool = False
    """Allow a change that removes the caller's own ability to manage IAM."""
    caller: str | None = None
    """The caller as an IAM member (e.g. `serviceAccount:ci@p.iam.gserviceaccount.com`)."""
    reimport: bool = False
    """Run every DICOM import again even when already done (`--reimport`)."""
    rerun: bool = False
    """Run de-identified copies again even when already done (`--rerun`)."""
    reimport_only: frozenset[str] = frozenset()
    """Run these imports again (`--reimport IMPORT`): each text names one object of a kind
    that `reruns`, as its `Kind.named_by` accepts."""

    def reimports(self, kind: Kind, resource: Resource) -> bool:
        """Whether `resource` (of `kind`) is to run again whatever its state says."""
        return self.reimport or any(kind.named_by(resource, text) for text in self.reimport_only)


class SharedReads:
    """Plan-scoped memo: each key is read once, even when several kinds ask at the same time.

    Only planning uses it (see `Context.read_once`); writes and their read-modify-write loops
    always read afresh. A read that another one answers in the background can be claimed
    first (`claim`): its `get` then waits for that answer instead of reading. The threads
    answering claims are kept (`keep`) so that the plan ends only after them (`join`).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[threading.Lock, list[Any]]] = {}
        self._claimed: dict[str, threading.Lock] = {}
        self._threads: list[threading.Thread] = []

    def get(self, key: str, read: Callable[[], Any]) -> Any:
        with self._lock:
            entry = self._entries.setdefault(key, (threading.Lock(), []))
        lock, value = entry
        with lock:
            if not value:
                value.append(read())
            return value[0]

    def remember(self, key: str, value: Any) -> None:
        """Record what a read of `key` would answer, learned from another read (e.g. a list);
        a `get` waiting on its claim returns it."""
        with self._lock:
            known = self._entries.setdefault(key, (threading.Lock(), []))[1]
            if not known:
                known.append(value)
            claimed = self._claimed.pop(key, None)
        if claimed is not None:
            claimed.release()

    def claim(self, keys: Iterable[str]) -> Claim:
        """Hold the reads of `keys` that are neither known, being read nor claimed already; a
        `get` of one waits until `remember` answers it or the claim lets it go (that `get`
        then reads for itself). The caller must release the claim (`Claim.release`)."""
        taken = set()
        with self._lock:
            for key in keys:
                lock, known = self._entries.setdefault(key, (threading.Lock(), []))
                if not known and key not in self._claimed and lock.acquire(blocking=False):
                    self._claimed[key] = lock
                    taken.add(key)
        return Claim(self, taken)

    def _release(self, keys: Iterable[str]) -> None:
        with self._lock:
            held = [self._claimed.pop(key) for key in keys if key in self._claimed]
        for lock in held:
            lock.release()

    def keep(self, thread: threading.Thread) -> None:
        """Remember a thread that answers claims, for `join`."""
        with self._lock:
            self._threads.append(thread)

    def join(self) -> None:
        """Wait for the threads kept (each releases its claims when it ends)."""
        with self._lock:
            threads, self._threads = self._threads, []
        for thread in threads:
            thread.join()


class Claim:
    """The keys one `SharedReads.claim` took."""

    def __init__(self, shared: SharedReads, keys: set[str]) -> None:
        self._shared = shared
        self._keys = keys
        self._lock = threading.Lock()

    def release(self, keys: Iterable[str] | None = None) -> None:
        """Let go of `keys` (default: all) of this claim's not answered yet; reads waiting on
        them read for themselves. Keys it did not take are left alone."""
        with self._lock:
            mine = set(self._keys) if keys is None else self._keys.intersection(keys)
            self._keys -= mine
        self._shared._release(mine)


@dataclass
class Context:
    """What a kind's API-facing methods get: the API gateway, known facts, options, progress."""

    api: GoogleApi
    facts: Facts
    options: Options = field(default_factory=Options)
    progress: Callable[[Progress], None] | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    shared_reads: SharedReads | None = None
    """Set while planning, so objects several kinds look at are read once."""
    planned_addresses: frozenset[Address] = frozenset()
    """While planning: the addresses the plan covers."""

    @classmethod
    def create(cls, api: GoogleApi, options: Options | None = None) -> Context:
        """A fresh context whose facts look project numbers up on demand."""
        return cls(api, Facts(lookup=number_lookup(api)), options or Options(), None, api.cancel)

    def for_change(self, progress: Callable[[Progress], None] | None) -> Context:
        """The same context reporting progress to `progress`."""
        return Context(self.api, self.facts, self.options, progress, self.cancel)

    def for_planning(self, planned: frozenset[Address] = frozenset()) -> Context:
        """The same context with a fresh plan-scoped read memo, for a plan covering `planned`."""
        return Context(
            self.api, self.facts, self.options, self.progress, self.cancel, SharedReads(), planned
        )

    def planned(self, kind: str) -> list[Address]:
        """While planning, the addresses of `kind` the plan covers; empty otherwise."""
        return [address for address in self.planned_addresses if address.kind == kind]

    def remember(self, key: str, value: JSON) -> None:
        """While planning, let a later `read_once(key, ...)` answer `value` without a request."""
        if self.shared_reads is not None:
            self.shared_reads.remember(key, value)

    def read_once(self, key: str, read: Callable[[], JSON]) -> JSON:
        """`read()`, memoised under `key` while planning; a plain call otherwise."""
        if self.shared_reads is None:
            return read()
        result: JSON = self.shared_reads.get(key, read)
        return result


@dataclass(frozen=True)
class Contents:
    """What an object holds that deleting it destroys, as read at one moment."""

    items: frozenset[str] = frozenset()
    """What was seen (study UIDs, object names, store names; a sample for big objects)."""
    summary: str = ""
    """How a plan says it, e.g. `holds 3 DICOM studies; deleting destroys them`."""

    @property
    def empty(self) -> bool:
        return not self.items


HOLDS = "holds"
"""Key of a planned delete's `before`: what the object held when planned (`Contents.items`)."""


REFUSED = "refused: "
"""How the message of a `DeleteRefusedError` starts."""


class DeleteRefusedError(ApplyError):
    """A planned delete was not made: the object holds what the plan did not show. The
    message starts with `REFUSED`."""


def refuse_unless_planned(change: Change, now: Contents) -> None:
    """Before a delete: raise `DeleteRefusedError` when the object now holds anything the plan
    did not show (a delete planned because the object was empty needs it empty still).

    `change` comes from a plan this run made (a saved plan's `HOLDS` is only compared with it,
    see `provision.saved_plan`), so what it held is what this run read."""
    planned = frozenset(str(item) for item in (change.before or {}).get(HOLDS) or ())
    if now.items <= planned:
        return
    then = "it was empty when planned" if not planned else "more than when planned"
    raise DeleteRefusedError(f"{REFUSED}it {now.summary.partition(';')[0]} now ({then}); kept")


@dataclass(frozen=True)
class RemovalScope:
    """What a `provision destroy` run may remove (see `Kind.plan_removal`)."""

    named: frozenset[str] = frozenset()
    """Addresses given with --allow-delete."""
    disable_services: bool = False
    decided: Mapping[Address, Change] = field(default_factory=dict)
    """The removals decided so far (an object is decided before what depends on it)."""

    def is_named(self, address: Address) -> bool:
        return str(address) in self.named


@dataclass(frozen=True)
class Needs:
    """The permissions managing one object of a kind takes (`validate --check-permissions`)."""

    role: str
    """The least-privilege predefined role that holds them (README "Least privilege")."""
    existing: tuple[str, ...]
    """Needed on the object once it exists (tested where `Kind.checked_on` says)."""
    create: tuple[str, ...] = ()
    """Also needed to create it (tested where the object would be created)."""
    creator_owns: bool = False
    """Whoever creates the object holds `existing` on it (a project's creator is its owner), so
    before it exists only `create` is tested."""

    @property
    def before_create(self) -> tuple[str, ...]:
        """What is tested where the object would be created, while it does not exist."""
        return self.create if self.creator_owns else self.create + self.existing


def readable(read: Callable[[], object]) -> bool:
    """For `Kind.visible`: whether `read` answers something. 403 counts as not visible, like
    404: permissions are then tested where the object would be created, where a missing one
    shows as missing."""
    try:
        return read() is not None
    except GoogleApiError as error:
        if error.http_status in (403, 404):
            return False
        raise


@dataclass(frozen=True)
class Probe:
    """A check `provision verify` runs: `check` on `target`; `run` answers it with reads only
    (whether it holds, and the detail to show)."""

    check: str
    target: str
    run: Callable[[Context], tuple[bool, str]]
    shared: bool = False
    """Asked by several objects (a bucket several imports read): run once, after the others."""


def removal(resource: Resource, state: JSON, action: Action, reason: str) -> Change:
    """A destroy plan's change for `resource`: `delete` or `forget` (kept), with the reason."""
    return Change(resource.address, action, before=dict(state), reason=reason, observed_exists=True)


class Kind:
    """Base class of a resource kind. Subclasses set `name` and `api` and override methods."""

    name: ClassVar[str]
    """The address kind, e.g. `project`, `healthcare.dicom_store`."""
    api: ClassVar[str]
    """The Google API it calls (bounds apply concurrency per API)."""
    iam_admin_roles: ClassVar[frozenset[str]] = frozenset()
    """For IAM kinds: roles whose loss would stop the caller managing this policy."""
    requires_services: ClassVar[frozenset[str]] = frozenset()
    """APIs that answer only once enabled (e.g. `healthcare.googleapis.com`). When a dependency
    is planned to enable one of them (see `enables`), the object is planned without reading."""
    enables_apis: ClassVar[bool] = False
    """Whether changes of this kind enable APIs (`enables`, `enabled_apis`): objects of kinds
    with `requires_services` are read after them."""
    parent_kind: ClassVar[str | None] = None
    """For IAM kinds: the kind of the object whose policy this is (at the same name)."""
    noun: ClassVar[str] = "object"
    """How messages name one object of this kind (e.g. `DICOM store`)."""
    reruns: ClassVar[bool] = False
    """One-shot steps (`run`) that `--reimport` runs again (`Options.reimports`)."""

    def named_by(self, resource: Resource, text: str) -> bool:
        """Whether `text`, as typed on the command line, names this object: its address
        (`kind:name`) or its name."""
        return text in (str(resource.address), resource.address.name)

    def awaiting(self, change: Change, *, idle: bool) -> str | None:
        """The target of this object's `verify` check (`Probe.target`) that cannot pass yet
        because the step found nothing to work on: planned as nothing to do for want of
        input, or (`idle`) run and found none. None otherwise (default)."""
        return None

    # -- planning -------------------------------------------------------------------------

    def read(self, ctx: Context, resource: Resource) -> Observed:
        """Read the live object. Absent -> `Observed.absent()`; 401/403 must raise, never absent."""
        raise NotImplementedError

    def diff(self, resource: Resource, observed: Observed, options: Options) -> Change:
        """Pure and deterministic: the change that brings `observed` to `resource.spec`.

        `after` is the desired spec (what apply writes), `before` the observed fields, `diffs`
        the field changes; `etag`, `depends_on=resource.depends_on` and
        `observed_exists=observed.exists` are carried over. Absent means `create`. A saved
        plan applies only when planning again gives the same change (`before` and `etag`
        aside), so nothing but the spec, the observation and `options` may shape it.
        """
        raise NotImplementedError

    def facts(self, resource: Resource, observed: Observed) -> Mapping[str, str]:
        """Facts learned from a read or a write (e.g. the project number), for symbols."""
        return {}

    def orphans(
        self, ctx: Context, resource: Resource, observed: Observed, desired: frozenset[Address]
    ) -> Iterable[tuple[Address, Observed]]:
        """Objects this tool manages under `resource` that the blueprint no longer lists.

        The planner turns each into `forget`, or `delete` when named with --allow-delete.
        Kinds that mark ownership (a `managed-by: provision` label) override this. An orphan's
        `Observed.fields["contents"]` (optional) says what it holds, e.g. "holds 3 studies";
        the plan shows it next to the action.
        """
        return ()

    def enables(self, change: Change) -> frozenset[str]:
        """APIs that applying `change` enables (kinds with `enables_apis`)."""
        return frozenset()

    def reads_after(self, address: Address, dependency: Address, dependency_kind: Kind) -> bool:
        """Whether reading `address` must wait for `dependency` (of kind `dependency_kind`) to
        be read, and be planned as `create` without reading when `dependency` is being created.

        Default: when `dependency` contains it (`is_container`), and, for kinds with
        `requires_services`, when `dependency` enables APIs (so that an API being enabled is
        never read through). Other dependencies only order apply.
        """
        if is_container(dependency, address):
            return True
        return bool(self.requires_services) and dependency_kind.enables_apis

    def parent(self, address: Address) -> Address | None:
        """For IAM kinds (`parent_kind`): the object whose policy `address` is."""
        return Address(self.parent_kind, address.name) if self.parent_kind else None

    def answered_by(self, resource: Resource) -> tuple[Address, ...]:
        """Scans whose list answers this object's read while planning (each listed object is
        remembered as what its own read would answer, see `Context.remember`).

        When the plan covers such a scan, this object is read after it. This orders reads only:
        it is not a dependency, so apply order and the plan's changes stay as they are.
        """
        return ()

    def outputs(self, ctx: Context, change: Change) -> Mapping[str, str]:
        """What `provision show` lists for the object besides its address: its live identifiers
        and outputs, from the plan's `change` (`after`: the spec with symbols resolved,
        `before`: what was read, None when absent). Makes no request."""
        return {}

    # -- applying -------------------------------------------------------------------------

    def create(self, ctx: Context, change: Change) -> Observed | None:
        """Create the object of `change.after` under a caller-chosen id; on 409 ALREADY_EXISTS
        (an earlier attempt's answer was lost) read it back and adopt it when it is provision's.
        Long-running operations are waited for with `ctx.api.wait(..., progress=ctx.progress)`."""
        raise NotImplementedError(f"{self.name} cannot be created")

    def adopt_after_conflict(
        self, ctx: Context, change: Change, found: Observed | None
    ) -> Observed:
        """After a create answered 409 ALREADY_EXISTS, `found` is the object read back (None:
        absent). It is adopted when `diff` accepts it as provision's (an earlier attempt whose
        answer was lost), brought to `change.after` by `update` where it differs; an object that
        is gone, or one `diff` refuses, is an `ApplyError`."""
        if found is None:
            raise ApplyError(f"{change.address}: create answered ALREADY_EXISTS, yet it is gone")
        try:
            fix = self.diff(Resource(change.address, dict(change.after or {})), found, ctx.options)
        except PlanError as error:
            raise ApplyError(str(error)) from None
        if fix.action is Action.UPDATE:
            return self.update(ctx, fix) or found
        return found

    def update(self, ctx: Context, change: Change) -> Observed | None:
        raise NotImplementedError(f"{self.name} cannot be updated")

    def delete(self, ctx: Context, change: Change) -> None:
        raise NotImplementedError(f"{self.name} cannot be deleted")

    def run(self, ctx: Context, change: Change) -> Observed | None:
        """A one-shot step; None means it found nothing to do (apply does not count it done)."""
        raise NotImplementedError(f"{self.name} has nothing to run")

    # -- removing (`provision destroy`) --------------------------------------------------

    removable: ClassVar[bool] = False
    """Whether `provision destroy` looks at objects of this kind (the others, e.g. billing links,
    service agents and imports, are left alone)."""
    removal_context: ClassVar[bool] = False
    """Read by every destroy, also of one site (the project, its APIs): when such an object is
    absent nothing is removed, and `enabled_apis` says which objects can be read at all."""

    def removal_read(self, ctx: Context, resource: Resource) -> JSON | None:
        """What `plan_removal` decides on, read now (None: absent). Default: `read`'s fields."""
        observed = self.read(ctx, resource)
        return dict(observed.fields) if observed.exists else None

    def plan_removal(
        self, ctx: Context, resource: Resource, state: JSON, scope: RemovalScope
    ) -> Change | None:
        """What destroy does with this existing object: `delete` or `update` with the reason,
        `forget` (kept) with the reason, or None when there is nothing to remove. `delete`
        records what the object holds under `HOLDS` in `before`, so that `delete` can refuse
        when it holds more by then (`refuse_unless_planned`)."""
        return None

    def enabled_apis(self, state: JSON) -> frozenset[str]:
        """The APIs a removal context's state says are enabled (kinds with `enables_apis`)."""
        return frozenset()

    # -- verifying (`provision verify`) -------------------------------------------------

    def probes(self, resource: Resource) -> list[Probe]:
        """What `provision verify` checks about this object (default: nothing)."""
        return []

    # -- permissions (`provision validate --check-permissions`) ---------------------------

    needs: ClassVar[Needs | None] = None
    """What apply needs to manage objects of this kind; None: nothing is tested."""

    def checked_on(self, resource: Resource) -> Address | str:
        """Where `needs` are tested once the object exists: its own address (default), the
        object a policy or an import belongs to, or a name outside the blueprint (a billing
        account), which this kind's `test_permissions` asks about."""
        return resource.address

    def created_in(self, resource: Resource) -> Address | str | None:
        """For kinds permissions are tested on: where creating the object is authorised, and
        so tested while it does not exist (the object containing it, or a name outside the
        blueprint that this kind's `test_permissions` asks about); None: nowhere known."""
        return None

    def visible(self, ctx: Context, address: Address) -> bool:
        """For kinds permissions are tested on: whether the object exists and can be read
        (see `readable`)."""
        raise NotImplementedError(f"permissions are not tested on {self.name} objects")

    def test_permissions(self, ctx: Context, name: str, permissions: Sequence[str]) -> set[str]:
        """For kinds permissions are tested on: which of `permissions` the caller holds on
        `name` (one testIamPermissions)."""
        raise NotImplementedError(f"permissions are not tested on {self.name} objects")


def resource_of(change: Change) -> Resource:
    """The desired resource a change was planned from."""
    return Resource(change.address, dict(change.after or {}), change.depends_on)


def compared(
    resource: Resource,
    observed: Observed,
    wanted: JSON,
    diffs: Sequence[FieldDiff],
    reason: str = "",
    before: JSON | None = None,
) -> Change:
    """The change to an object that exists: `update` with `diffs`, or `no-op` without any;
    `before` is what was read (default: all of `observed.fields`), with its etag."""
    return Change(
        resource.address,
        Action.UPDATE if diffs else Action.NOOP,
        before=dict(observed.fields) if before is None else before,
        after=wanted,
        diffs=tuple(diffs),
        reason=reason,
        etag=observed.etag,
        depends_on=resource.depends_on,
        observed_exists=True,
    )


def field_diffs(
    before: Mapping[str, Any], after: Mapping[str, Any], keys: Iterable[str]
) -> list[FieldDiff]:
    """FieldDiffs for `keys` whose values differ (missing counts as None)."""
    return [
        FieldDiff(key, before.get(key), after.get(key))
        for key in keys
        if before.get(key) != after.get(key)
    ]


def map_diffs(path: str, before: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[FieldDiff]:
    """FieldDiffs for the keys of `wanted` (e.g. labels) whose value differs in `before`."""
    return [
        FieldDiff(f"{path}.{key}", before.get(key), value)
        for key, value in sorted(wanted.items())
        if before.get(key) != value
    ]


def require(spec: JSON, key: str, address: Address) -> Any:
    """A mandatory spec key (a bug in expansion when missing)."""
    if key not in spec:
        raise PlanError(f"{address}: spec has no {key!r}")
    return spec[key]


class ScanKind(Kind):
    """A read-only kind that exists to find objects dropped from the blueprint (its `orphans`,
    from one list call); its own plan is always `no-op` and it never writes."""

    def diff(self, resource: Resource, observed: Observed, options: Options) -> Change:
        return Change(
            resource.address,
            Action.NOOP,
            after=dict(resource.spec),
            depends_on=resource.depends_on,
            observed_exists=True if observed.exists else None,
        )
