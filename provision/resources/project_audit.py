"""Kind `project_audit` (`projects/{id}`): Cloud Audit Logs, the `auditConfigs` of the
project's IAM policy.

spec = {"projectId", "auditConfigs": [{"service", "auditLogConfigs": [{"logType",
        "exemptedMembers"?: [..]}]}]}   (Google's AuditConfig shape)

* Additive, like IAM bindings: each listed (service, log type) is turned on and its exempted
  members added; other services, log types and exemptions are never removed. The plan shows one
  change per service and log type.
* Written with a read-modify-write of the whole policy carrying the etag it read (conflicts
  restart it, see `iam.read_modify_write`) and `updateMask=bindings,etag,auditConfigs`:
  Google's default mask is `bindings, etag` (SetIamPolicyRequest, cloudresourcemanager.v3.json),
  which would drop audit configs silently. The bindings sent are the ones just read, unchanged.
  The same policy's bindings are the `project_iam` kind's; the plan reads the policy once.
* `provision destroy` never turns audit logs off (they are a compliance record): it forgets
  them, with the reason.
* `verify` checks each listed log type is on, with its exempted members.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from provision.model import JSON, Action, Address, Change, FieldDiff, Observed, Resource
from provision.resources import addresses, resource_manager
from provision.resources.base import Context, Kind, Needs, Options, Probe, RemovalScope, removal
from provision.resources.iam import policy_read_key, read_modify_write
from provision.resources.iam_policy import member_key
from provision.resources.registry import register

UPDATE_MASK = "bindings,etag,auditConfigs"
"""The mask gcloud and Terraform send to write audit configs (their bindings as read)."""
LOGGED = "logged"
NOT_LOGGED = "not logged"
KEPT = "provision destroy never turns Cloud Audit Logs off; they are left as they are"


@register
class ProjectAuditKind(Kind):
    name = addresses.PROJECT_AUDIT
    api = resource_manager.API
    removable = True
    noun = "audit log configuration"
    needs = Needs(
        "roles/resourcemanager.projectIamAdmin",
        ("resourcemanager.projects.getIamPolicy", "resourcemanager.projects.setIamPolicy"),
    )

    def checked_on(self, resource: Resource) -> Address:
        return addresses.project(resource.spec["projectId"])

    def outputs(self, ctx: Context, change: Change) -> Mapping[str, str]:
        """Per service the blueprint names, the log types on (as read)."""
        current = (change.before or {}).get("auditConfigs") or []
        shown: dict[str, str] = {}
        for want in (change.after or {}).get("auditConfigs") or []:
            service = str(want["service"])
            types = [
                str(log.get("logType"))
                for config in current
                if config.get("service") == service
                for log in config.get("auditLogConfigs") or []
            ]
            shown[service] = ", ".join(sorted(types)) or NOT_LOGGED
        return shown

    def read(self, ctx: Context, resource: Resource) -> Observed:
        project = resource.address.name
        policy = ctx.read_once(
            policy_read_key(project), lambda: resource_manager.get_policy(ctx.api, project)
        )
        etag = policy.get("etag")
        return Observed(exists=True, fields=policy, etag=str(etag) if etag else None)

    def diff(self, resource: Resource, observed: Observed, options: Options) -> Change:
        wanted = list(resource.spec.get("auditConfigs") or [])
        current = observed.fields if observed.exists else {}
        _, diffs = merge_audit(current, wanted)
        action = Action.UPDATE if diffs else Action.NOOP
        if not observed.exists:
            action = Action.CREATE
        return Change(
            resource.address,
            action,
            before={"auditConfigs": list(current.get("auditConfigs") or [])}
            if observed.exists
            else None,
            after=dict(resource.spec),
            diffs=tuple(diffs),
            etag=observed.etag,
            depends_on=resource.depends_on,
            observed_exists=observed.exists,
        )

    # -- applying -------------------------------------------------------------------------

    def create(self, ctx: Context, change: Change) -> Observed | None:
        return self.update(ctx, change)

    def update(self, ctx: Context, change: Change) -> Observed | None:
        wanted = list((change.after or {}).get("auditConfigs") or [])
        project = change.address.name

        def modify(policy: JSON) -> JSON | None:
            merged, diffs = merge_audit(policy, wanted)
            return merged if diffs else None

        final = read_modify_write(
            ctx,
            read=lambda: resource_manager.get_policy(ctx.api, project),
            write=lambda policy: resource_manager.set_policy(ctx.api, project, policy, UPDATE_MASK),
            modify=modify,
            set_method=resource_manager.SET_POLICY,
        )
        etag = final.get("etag")
        return Observed(exists=True, fields=final, etag=str(etag) if etag else None)

    # -- verifying ------------------------------------------------------------------------

    def probes(self, resource: Resource) -> list[Probe]:
        """Each listed log type of each service is on, with its exempted members."""
        project = resource.address.name
        return [
            Probe(
                f"{config['service']} {log['logType']} audit logs",
                project,
                partial(audit_logged, project=project, service=config["service"], log=log),
            )
            for config in resource.spec.get("auditConfigs") or []
            for log in config.get("auditLogConfigs") or []
        ]

    # -- removing -------------------------------------------------------------------------

    def plan_removal(
        self, ctx: Context, resource: Resource, state: JSON, scope: RemovalScope
    ) -> Change:
        return removal(resource, state, Action.FORGET, KEPT)


def merge_audit(
    policy: Mapping[str, Any], wanted: list[Mapping[str, Any]]
) -> tuple[JSON, list[FieldDiff]]:
    """`policy` with every wanted (service, log type) on and its exempted members added (pure;
    nothing is removed), and one FieldDiff per (service, log type) that changes."""
    configs: list[JSON] = [
        {
            "service": c.get("service"),
            "auditLogConfigs": [dict(log) for log in c.get("auditLogConfigs") or []],
        }
        for c in policy.get("auditConfigs") or []
        if isinstance(c, Mapping)
    ]
    diffs: list[FieldDiff] = []
    for want in wanted:
        service = str(want["service"])
        config = next((c for c in configs if c["service"] == service), None)
        if config is None:
            config = {"service": service, "auditLogConfigs": []}
            configs.append(config)
        for want_log in want.get("auditLogConfigs") or []:
            diff = _merge_log(service, config["auditLogConfigs"], want_log)
            if diff is not None:
                diffs.append(diff)
    merged: JSON = {**policy}
    if diffs:
        merged["auditConfigs"] = configs
    return merged, diffs


def _merge_log(service: str, logs: list[JSON], want: Mapping[str, Any]) -> FieldDiff | None:
    """Turn `want`'s log type on in `logs` (in place) with its exempted members added."""
    log_type = str(want["logType"])
    path = f"auditConfigs[{service}].{log_type}"
    log = next((entry for entry in logs if entry.get("logType") == log_type), None)
    wanted_members = [str(m) for m in want.get("exemptedMembers") or []]
    if log is None:
        entry: JSON = {"logType": log_type}
        if wanted_members:
            entry["exemptedMembers"] = wanted_members
        logs.append(entry)
        return FieldDiff(path, NOT_LOGGED, described(wanted_members))
    current = [str(m) for m in log.get("exemptedMembers") or []]
    have = {member_key(m) for m in current}
    added = [m for m in wanted_members if member_key(m) not in have]
    if not added:
        return None
    log["exemptedMembers"] = current + added
    return FieldDiff(path, described(current), described(current + added))


def described(exempted: list[str]) -> str:
    """How a plan shows a log type that is on: `logged` or `logged, except a, b`."""
    return f"{LOGGED}, except {', '.join(sorted(exempted))}" if exempted else LOGGED


def audit_logged(
    ctx: Context, *, project: str, service: str, log: Mapping[str, Any]
) -> tuple[bool, str]:
    """For `verify`: `log`'s type is on for `service`, exempting at least its members."""
    policy = resource_manager.get_policy(ctx.api, project)
    _, diffs = merge_audit(policy, [{"service": service, "auditLogConfigs": [log]}])
    if diffs:
        return False, f"{diffs[0].before}; the blueprint says {diffs[0].after}"
    for config in policy.get("auditConfigs") or []:
        for entry in config.get("auditLogConfigs") or []:
            if config.get("service") == service and entry.get("logType") == log["logType"]:
                return True, described([str(m) for m in entry.get("exemptedMembers") or []])
    return True, LOGGED
