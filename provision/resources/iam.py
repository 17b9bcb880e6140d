"""The shared IAM kind: plan with `iam_policy.merge`, apply with an etag read-modify-write.

A concrete IAM kind (project, dataset, DICOM store, bucket) subclasses `IamKind`, sets
`parent_kind` and `set_method` and implements only `get_policy` and `set_policy`; spec and
semantics are shared:

    spec = {"bindings": [{"role", "members", "condition"?, "authoritative"?}, ...]}

The read-modify-write sends the etag it read; a conflict (409 ABORTED, Storage 412) restarts the
whole cycle (read, merge, write) up to `RMW_ATTEMPTS` times with jittered backoff, so a
concurrent writer's bindings are never lost. A grant to a Google service agent that does not
exist yet (400 "Service account ... does not exist.") restarts it too, with bounded polling.
A change planned from a read starts with that read's policy and etag, saving one read; a stale
etag just costs one conflict and a fresh read.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from provision.errors import GoogleApiError, RefusedError
from provision.gcp.operations import Progress, poll_delays
from provision.gcp.retry import Verdict, classify, sleep
from provision.model import JSON, Action, Address, Change, Observed, Resource
from provision.resources.base import Context, Kind, Options, Probe, RemovalScope, removal
from provision.resources.iam_policy import (
    MergeResult,
    WantedBinding,
    member_key,
    merge,
    removals_of,
    roles_held,
    subtract,
)

RMW_ATTEMPTS = 8
AGENT_WAIT_SECONDS = 300.0
"""How long a grant to a service agent waits for the agent to exist."""
ALLOW_FLAG = "--allow-remove-own-access"


class IamKind(Kind):
    """Base of every IAM policy kind."""

    removable = True

    set_method: str = ""
    """Discovery id of the setIamPolicy method (for conflict classification)."""

    # -- to implement ---------------------------------------------------------------------

    def get_policy(self, ctx: Context, resource_name: str) -> JSON:
        raise NotImplementedError

    def set_policy(self, ctx: Context, resource_name: str, policy: JSON) -> JSON:
        raise NotImplementedError

    def policy_target(self, change_or_resource: Change | Resource) -> str:
        """The resource whose policy this is (default: the address name)."""
        return change_or_resource.address.name

    def checked_on(self, resource: Resource) -> Address | str:
        """The object whose policy this is."""
        return self.parent(resource.address) or resource.address

    def binding_probes(self, resource: Resource) -> list[Probe]:
        """For `verify`: every member of each binding of `resource` holds its role."""
        name = resource.address.name
        return [
            Probe(
                f"{b['role']} held", name, partial(self.binding_held, resource=resource, binding=b)
            )
            for b in resource.spec.get("bindings") or []
        ]

    def binding_held(
        self, ctx: Context, *, resource: Resource, binding: Mapping[str, Any]
    ) -> tuple[bool, str]:
        role = str(binding["role"])
        policy = self.get_policy(ctx, self.policy_target(resource))
        members = [str(ctx.facts.resolve_fully(m, role)) for m in binding.get("members") or []]
        missing = [m for m in members if role not in roles_held(policy, m)]
        if missing:
            return False, f"missing: {', '.join(missing)}"
        return True, ", ".join(members)

    # -- planning -------------------------------------------------------------------------

    def read(self, ctx: Context, resource: Resource) -> Observed:
        target = self.policy_target(resource)
        policy = ctx.read_once(policy_read_key(target), lambda: self.get_policy(ctx, target))
        etag = policy.get("etag")
        return Observed(exists=True, fields=policy, etag=str(etag) if etag else None)

    def diff(self, resource: Resource, observed: Observed, options: Options) -> Change:
        wanted = wanted_bindings(resource.spec)
        current = observed.fields if observed.exists else {}
        result = merge(current, wanted)
        self.check_lockout(resource, result, options)
        reason = "; ".join(f"authoritative {r.label} removes {r.member}" for r in result.removals)
        if not observed.exists:
            action = Action.CREATE
        else:
            action = Action.UPDATE if result.changed else Action.NOOP
        return Change(
            address=resource.address,
            action=action,
            before=dict(observed.fields) if observed.exists else None,
            after=dict(resource.spec),
            diffs=result.diffs,
            reason=reason,
            etag=observed.etag,
            depends_on=resource.depends_on,
            observed_exists=observed.exists,
        )

    def check_lockout(
        self, resource: Resource | Change, result: MergeResult, options: Options
    ) -> None:
        """Refuse removing the caller from an IAM-admin role unless explicitly allowed."""
        if options.allow_remove_own_access or not options.caller:
            return
        lost = removals_of(options.caller, result.removals, self.iam_admin_roles)
        if lost:
            roles = ", ".join(sorted({r.role for r in lost}))
            raise RefusedError(
                f"{resource.address}: this change removes {options.caller} (the identity "
                f"running provision) from {roles}, which would stop it managing this policy; "
                f"pass {ALLOW_FLAG} if that is intended"
            )

    # -- applying -------------------------------------------------------------------------

    def create(self, ctx: Context, change: Change) -> Observed | None:
        return self.apply_policy(ctx, change)

    def update(self, ctx: Context, change: Change) -> Observed | None:
        return self.apply_policy(ctx, change)

    def apply_policy(self, ctx: Context, change: Change) -> Observed:
        wanted = wanted_bindings(change.after or {})
        target = self.policy_target(change)
        first = None
        if change.observed_exists and change.before is not None and change.etag:
            first = dict(change.before)

        def modify(policy: JSON) -> JSON | None:
            result = merge(policy, wanted)
            self.check_lockout(change, result, ctx.options)
            return result.policy if result.changed else None

        def attempt(start: JSON | None) -> JSON:
            return read_modify_write(
                ctx,
                read=lambda: self.get_policy(ctx, target),
                write=lambda policy: self.set_policy(ctx, target, policy),
                modify=modify,
                set_method=self.set_method,
                first=start,
            )

        final = until_agents_exist(ctx, attempt, first, wanted, what=str(change.address))
        etag = final.get("etag")
        return Observed(exists=True, fields=final, etag=str(etag) if etag else None)

    def delete(self, ctx: Context, change: Change) -> None:
        """Remove exactly the members of `change.after["bindings"]` (what a blueprint granted)
        from the policy; everyone else stays. Used by `provision destroy`."""
        wanted = wanted_bindings(change.after or {})
        target = self.policy_target(change)

        def modify(policy: JSON) -> JSON | None:
            result = subtract(policy, wanted)
            self.check_lockout(change, result, ctx.options)
            return result.policy if result.changed else None

        read_modify_write(
            ctx,
            read=lambda: self.get_policy(ctx, target),
            write=lambda policy: self.set_policy(ctx, target, policy),
            modify=modify,
            set_method=self.set_method,
        )

    # -- removing -------------------------------------------------------------------------

    def plan_removal(
        self, ctx: Context, resource: Resource, state: JSON, scope: RemovalScope
    ) -> Change | None:
        """Take out exactly the blueprint's members (additive and authoritative bindings
        alike); nothing when the policy's object is deleted (the policy goes with it)."""
        owner = self.parent(resource.address)
        decided = scope.decided.get(owner) if owner is not None else None
        if decided is not None and decided.action is Action.DELETE:
            return None
        spec = ctx.facts.resolve_fully(resource.spec, str(resource.address))
        result = subtract(state, wanted_bindings(spec))
        if not result.changed:
            return None
        caller = ctx.options.caller
        if not ctx.options.allow_remove_own_access and caller:
            lost = removals_of(caller, result.removals, self.iam_admin_roles)
            if lost:
                why = (
                    f"removing {caller} from {lost[0].role} would stop it managing this "
                    f"policy; pass {ALLOW_FLAG}"
                )
                return removal(resource, state, Action.FORGET, why)
        members = sorted({r.member for r in result.removals})
        return Change(
            resource.address,
            Action.DELETE,
            before=dict(state),
            after=dict(spec),
            diffs=result.diffs,
            reason=f"removes the blueprint's members only ({', '.join(members)})",
            etag=str(state.get("etag")) if state.get("etag") else None,
            observed_exists=True,
        )


_MISSING_ACCOUNT = re.compile(r"Service account (\S+?) does not exist", re.IGNORECASE)
_SERVICE_AGENT = re.compile(r"^service-\d+@gcp-sa-[a-z0-9-]+\.iam\.gserviceaccount\.com$")


def missing_agent(error: GoogleApiError, wanted: Sequence[WantedBinding]) -> str | None:
    """The service agent a 400 "Service account X does not exist." names, when X is a Google
    service agent (`service-N@gcp-sa-*.iam.gserviceaccount.com`) this change grants to."""
    if error.http_status != 400:
        return None
    found = _MISSING_ACCOUNT.search(error.message)
    if found is None:
        return None
    email = found.group(1).lower()
    if not _SERVICE_AGENT.match(email):
        return None
    granted = {member_key(m) for b in wanted for m in b.members}
    return email if f"serviceaccount:{email}" in granted else None


def until_agents_exist(
    ctx: Context,
    attempt: Callable[[JSON | None], JSON],
    first: JSON | None,
    wanted: Sequence[WantedBinding],
    *,
    what: str,
) -> JSON:
    """Run `attempt` (a whole read-modify-write); while Google still answers 400 "Service
    account ... does not exist." for a service agent being granted (agents appear some time
    after their API is enabled or generateServiceIdentity is called), poll again with bounded
    backoff, up to `AGENT_WAIT_SECONDS` (or the poll deadline when shorter)."""
    policy = ctx.api.timing.poll
    deadline = min(policy.deadline, AGENT_WAIT_SECONDS)
    next_delay = poll_delays(policy)
    start = time.monotonic()
    start_policy = first
    while True:
        try:
            return attempt(start_policy)
        except GoogleApiError as error:
            agent = missing_agent(error, wanted)
            elapsed = time.monotonic() - start
            if agent is None:
                raise
            if elapsed > deadline:
                raise GoogleApiError(
                    error.http_status,
                    error.status,
                    f"{error.message} (waited {elapsed:.0f}s for the service agent {agent} to "
                    "appear; it is created some time after its API is enabled)",
                    error.reason,
                    error.method,
                    error.details,
                ) from None
            if ctx.progress is not None:
                ctx.progress(Progress(f"{what}: waiting for {agent} to exist", elapsed))
            sleep(next_delay(), ctx.cancel)
            start_policy = None


def wanted_bindings(spec: JSON) -> list[WantedBinding]:
    return [WantedBinding.from_spec(b) for b in spec.get("bindings") or []]


def policy_read_key(target: str) -> str:
    """The plan-scoped read memo key of `target`'s IAM policy (see `Context.read_once`)."""
    return f"{target}:getIamPolicy"


def read_modify_write(
    ctx: Context,
    *,
    read: Callable[[], JSON],
    write: Callable[[JSON], JSON],
    modify: Callable[[JSON], JSON | None],
    set_method: str,
    first: JSON | None = None,
    attempts: int = RMW_ATTEMPTS,
) -> JSON:
    """Read (or start from `first`), modify, write with the etag; restart on conflicts.

    Returns the policy as written (or as read when nothing needed changing).
    """
    policy = first
    base = max(ctx.api.timing.retry.base_delay, 0.001)
    for attempt in range(1, attempts + 1):
        if policy is None:
            policy = read()
        new_policy = modify(policy)
        if new_policy is None:
            return policy
        try:
            return write(new_policy)
        except GoogleApiError as error:
            conflict = classify(error, set_method).verdict is Verdict.CONFLICT
            if not conflict or attempt == attempts:
                if conflict:
                    raise GoogleApiError(
                        error.http_status,
                        error.status,
                        f"{error.message} (policy kept changing: gave up after {attempts} "
                        "read-modify-write attempts)",
                        error.reason,
                        error.method,
                        error.details,
                    ) from None
                raise
            sleep(random.uniform(0, base * 2 ** (attempt - 1)), ctx.cancel)
            policy = None
    raise AssertionError("unreachable")
