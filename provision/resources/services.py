"""Kind `services` (`projects/{id}/services`): the set of APIs enabled on a project.

spec = {"projectId", "services": [names]}

One resource holds the whole wanted set: it is read with ONE `services.list?filter=state:ENABLED`
(pages of 200) and enabled with `batchEnable` (at most 20 per call; a single service uses
`services.enable`, since batchEnable rejects one item). After the operation finishes, the list is
polled with bounded backoff until every service shows as enabled. Services enabled but not listed
are left alone; they are disabled only when named with `--allow-disable-service`.
"""

from __future__ import annotations

from provision.gcp.methods import SERVICES
from provision.model import JSON, Action, Address, Change, FieldDiff, Observed, Resource
from provision.resources import addresses
from provision.resources.addresses import project_name, service_name
from provision.resources.base import Context, Kind, Needs, Options, RemovalScope, removal
from provision.resources.registry import register

API = "serviceusage"
"""The API as the gateway names it (`Kind.api`)."""
BATCH_LIMIT = 20
PAGE_SIZE = 200
PROPAGATION_WINDOW = 300.0
"""Seconds during which a 403 SERVICE_DISABLED after enabling is retried as propagation."""


@register
class ServicesKind(Kind):
    name = addresses.SERVICES
    api = API
    removable = True
    removal_context = True
    enables_apis = True
    needs = Needs(
        "roles/serviceusage.serviceUsageAdmin",
        ("serviceusage.services.list", "serviceusage.services.get", "serviceusage.services.enable"),
    )

    def checked_on(self, resource: Resource) -> Address:
        return addresses.project(resource.spec["projectId"])

    def read(self, ctx: Context, resource: Resource) -> Observed:
        return Observed(
            exists=True, fields={"enabled": list_enabled(ctx, resource.spec["projectId"])}
        )

    def diff(self, resource: Resource, observed: Observed, options: Options) -> Change:
        wanted = sorted(set(resource.spec.get("services") or []))
        enabled = set(observed.fields.get("enabled") or []) if observed.exists else set()
        disable = sorted((enabled - set(wanted)) & options.allow_disable_services)
        managed = set(wanted) | set(disable)
        before = sorted(enabled & managed)
        after = wanted
        diffs = (FieldDiff("services", before, after),) if before != after else ()
        action = Action.UPDATE if diffs else Action.NOOP
        if not observed.exists:
            action = Action.CREATE
        return Change(
            resource.address,
            action,
            before={"enabled": sorted(enabled)} if observed.exists else None,
            after={"projectId": resource.spec["projectId"], "services": wanted},
            diffs=diffs,
            reason=f"disables {', '.join(disable)}" if disable else "",
            depends_on=resource.depends_on,
            observed_exists=observed.exists,
        )

    def removal_read(self, ctx: Context, resource: Resource) -> JSON | None:
        return {"enabled": list_enabled(ctx, resource.spec["projectId"])}

    def enabled_apis(self, state: JSON) -> frozenset[str]:
        return frozenset(state.get("enabled") or [])

    def plan_removal(
        self, ctx: Context, resource: Resource, state: JSON, scope: RemovalScope
    ) -> Change:
        """The blueprint's enabled APIs are disabled only with --disable-services."""
        listed = sorted(resource.spec.get("services") or [])
        enabled = sorted(set(state.get("enabled") or []) & set(listed))
        if not enabled:
            why = "none of the blueprint's APIs is enabled"
            return removal(resource, state, Action.FORGET, why)
        if not scope.disable_services:
            why = "APIs stay enabled (pass --disable-services to disable the blueprint's APIs)"
            return removal(resource, state, Action.FORGET, why)
        return Change(
            resource.address,
            Action.UPDATE,
            before=dict(state),
            after={"projectId": resource.spec["projectId"], "services": []},
            diffs=(FieldDiff("services", enabled, []),),
            reason=f"--disable-services: disables {', '.join(enabled)}",
            observed_exists=True,
        )

    def enables(self, change: Change) -> frozenset[str]:
        if change.action not in (Action.CREATE, Action.UPDATE):
            return frozenset()
        before = set((change.before or {}).get("enabled") or [])
        return frozenset(s for s in (change.after or {}).get("services") or [] if s not in before)

    def create(self, ctx: Context, change: Change) -> Observed | None:
        return self.update(ctx, change)

    def update(self, ctx: Context, change: Change) -> Observed | None:
        spec = change.after or {}
        project_id = spec["projectId"]
        wanted = list(spec.get("services") or [])
        before = set((change.before or {}).get("enabled") or [])
        to_enable = [s for s in wanted if s not in before]
        to_disable = sorted(
            {s for d in change.diffs for s in (d.before or []) if s not in (d.after or [])}
        )
        for chunk in chunks(to_enable, BATCH_LIMIT):
            enable(ctx, project_id, chunk)
        for service in to_disable:
            operation = ctx.api.call(
                f"{SERVICES}.disable",
                name=service_name(project_id, service),
                body={"disableDependentServices": False},
            )
            ctx.api.wait(operation, api=API, what=f"disabling {service}", progress=ctx.progress)
        enabled: list[str] = []

        def settled() -> bool:
            nonlocal enabled
            enabled = list_enabled(ctx, project_id)
            now = set(enabled)
            return set(to_enable) <= now and not (set(to_disable) & now)

        if to_enable or to_disable:
            ctx.api.wait_until(
                settled,
                what=f"services to show as enabled on {project_id}",
                progress=ctx.progress,
            )
        return Observed(exists=True, fields={"enabled": enabled})


def list_enabled(ctx: Context, project_id: str) -> list[str]:
    """Names of the services enabled on the project (one paged list call)."""
    services = ctx.api.pages(
        f"{SERVICES}.list",
        "services",
        parent=project_name(project_id),
        filter="state:ENABLED",
        pageSize=PAGE_SIZE,
    )
    names = []
    for service in services:
        name = str(service.get("config", {}).get("name") or service.get("name", ""))
        names.append(name.rsplit("/", 1)[-1])
    return sorted(set(names))


def enable(ctx: Context, project_id: str, services: list[str]) -> None:
    """Enable up to 20 services in one call and wait for the operation."""
    what = f"enabling {', '.join(services)}"
    if len(services) == 1:
        operation = ctx.api.call(
            f"{SERVICES}.enable",
            name=service_name(project_id, services[0]),
            body={},
        )
    else:
        operation = ctx.api.call(
            f"{SERVICES}.batchEnable",
            parent=project_name(project_id),
            body={"serviceIds": services},
        )
    ctx.api.wait(operation, api=API, what=what, progress=ctx.progress)
    for service in services:
        ctx.api.mark_enabled(project_id, service, PROPAGATION_WINDOW)


def chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
