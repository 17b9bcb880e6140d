"""Service Usage: which services are enabled on which project, and what enabling does.

A service's state is stored in `SERVICES` under `"{projectNumber}/{service}"` as
`{state, enabledAt, changedAt}`; a service with no record is DISABLED. Enabling commits at once
(dependencies included, atomically for a batch), records `enabledAt` for the propagation window
(`World.require_service`), creates the service agent after `service_agent_delay_s` and, with
`auto_grant_service_agent_role`, grants the agent its role on the project when it appears.
Names on the wire use the project number.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any

from provision.emulator.core import iam, lro
from provision.emulator.core.errors import ApiError, error_info, invalid_argument
from provision.emulator.core.world import (
    SERVICE_ACCOUNTS,
    SERVICE_AGENT_DOMAINS,
    SERVICES,
    World,
    project_policy_name,
)
from provision.emulator.serviceusage import catalogue

DOMAIN = "serviceusage.googleapis.com"
V1 = "type.googleapis.com/google.api.serviceusage.v1."
V1BETA1 = "type.googleapis.com/google.api.serviceusage.v1beta1."
EMPTY_METADATA = {"@type": "type.googleapis.com/google.protobuf.Empty", "value": {}}
NOOP_OPERATION = "operations/noop.DONE_OPERATION"
FINISHED_OPERATION = "operations/finished.DONE_OPERATION"
MAX_BATCH_ENABLE = 20
MAX_BATCH_GET = 30


# ----- lookups and rendering


def project_for(world: World, ref: str, permission: str) -> dict[str, Any]:
    """The ACTIVE project `ref` (id or number), or 403 as Google answers for a missing one."""
    return world.require_project(ref, permission, DOMAIN)


def state_of(world: World, number: str, service: str) -> str:
    record = world.service_state(number, service)
    return str(record["state"]) if record else "DISABLED"


def render(number: str, service: str, state: str, *, full: bool = True) -> dict[str, Any]:
    """A Service as `services.get` / `services.list` answer it (`full`: the whole config)."""
    config: dict[str, Any] = {"name": service, "title": catalogue.title(service)}
    if full:
        config.update(
            documentation={},
            quota={},
            authentication={},
            usage={"requirements": ["serviceusage.googleapis.com/tos/cloud"]},
            monitoring={},
        )
    return {
        "name": f"projects/{number}/services/{service}",
        "config": config,
        "state": state,
        "parent": f"projects/{number}",
    }


def operation_service(number: str, service: str, state: str) -> dict[str, Any]:
    """A Service as an enable/disable operation's response carries it: name, parent and state,
    no config (golden/serviceusage__service.http.log)."""
    return {
        "name": f"projects/{number}/services/{service}",
        "parent": f"projects/{number}",
        "state": state,
    }


def require_known(world: World, services: Iterable[str]) -> None:
    """403 SERVICE_CONFIG_NOT_FOUND_OR_PERMISSION_DENIED naming every unknown service."""
    known = set(catalogue.known(world.settings.extra_services))
    unknown = [service for service in dict.fromkeys(services) if service not in known]
    if unknown:
        names = ", ".join(unknown)
        raise ApiError(
            "PERMISSION_DENIED",
            f"Not found or permission denied for service(s): {names}.",
            details=[
                error_info(
                    "SERVICE_CONFIG_NOT_FOUND_OR_PERMISSION_DENIED",
                    DOMAIN,
                    {"services": ",".join(unknown)},
                )
            ],
        )


def get_service(world: World, ref: str, service: str) -> dict[str, Any]:
    project = project_for(world, ref, "serviceusage.services.get")
    require_known(world, [service])
    return render(project["number"], service, state_of(world, project["number"], service))


def list_services(world: World, ref: str, state_filter: str) -> list[dict[str, Any]]:
    """Every known service with its state (`state_filter` "", "ENABLED" or "DISABLED").

    Listing is eventually consistent: a service enabled less than `services_list_lag_s` ago is
    still listed as DISABLED.
    """
    project = project_for(world, ref, "serviceusage.services.list")
    number = project["number"]
    lag = world.settings.services_list_lag_s
    now = world.now()
    listed = []
    for service in catalogue.known(world.settings.extra_services):
        record = world.service_state(number, service)
        state = str(record["state"]) if record else "DISABLED"
        if state == "ENABLED" and record and now - float(record.get("enabledAt", 0.0)) < lag:
            state = "DISABLED"
        if state_filter in ("", state):
            listed.append(render(number, service, state, full=False))
    return listed


def parse_filter(raw: str | None) -> str:
    text = (raw or "").strip()
    if not text:
        return ""
    key, _, value = text.partition(":")
    if key.strip() == "state" and value.strip() in ("ENABLED", "DISABLED"):
        return value.strip()
    raise invalid_argument(f"Invalid filter: {text}")


def batch_get(world: World, ref: str, names: list[str]) -> dict[str, Any]:
    project = project_for(world, ref, "serviceusage.services.get")
    if not names:
        raise invalid_argument("names must be set")
    if len(names) > MAX_BATCH_GET:
        raise invalid_argument(
            f"Too many services requested: at most {MAX_BATCH_GET} names per request."
        )
    services = []
    for name in names:
        parent, sep, service = name.partition("/services/")
        owner = world.find_project(parent) if parent.startswith("projects/") else None
        if not sep or not service or owner is None or owner["number"] != project["number"]:
            raise invalid_argument(f"Invalid service name: {name}")
        services.append(service)
    require_known(world, services)
    number = project["number"]
    return {"services": [render(number, s, state_of(world, number, s)) for s in services]}


# ----- enabling and disabling


def _help_token(world: World) -> str:
    raw = bytes.fromhex(world.ids.hex(48))
    return "A" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def billing_not_found(world: World, number: str, services: list[str]) -> ApiError:
    """400 FAILED_PRECONDITION / UREQ_PROJECT_BILLING_NOT_FOUND exactly as Google sends it."""
    joined = ",".join(services)
    message = (
        f"Billing account for project '{number}' is not found. Billing must be enabled for "
        f"activation of service(s) '{joined}' to proceed.\nHelp Token: {_help_token(world)}"
    )
    subject = f"?error_code=390001&project={number}" + "".join(
        f"&services={service}" for service in services
    )
    return ApiError(
        "FAILED_PRECONDITION",
        message,
        details=[
            {
                "@type": "type.googleapis.com/google.rpc.PreconditionFailure",
                "violations": [{"subject": subject, "type": "googleapis.com/billing-enabled"}],
            },
            error_info(
                "UREQ_PROJECT_BILLING_NOT_FOUND",
                "serviceusage.googleapis.com/billing-enabled",
                {"project": number, "services": joined},
            ),
        ],
    )


def _check_billing(world: World, project: dict[str, Any], services: list[str]) -> None:
    paid = set(world.settings.billing_required_services)
    needing = [service for service in services if service in paid]
    if needing and not world.billing_enabled(project["projectId"], settled=True):
        raise billing_not_found(world, project["number"], needing)


def _check_conflict(world: World, project: dict[str, Any], services: list[str]) -> None:
    window = world.settings.service_activation_conflict_s
    if window <= 0:
        return
    now = world.now()
    busy = [
        service
        for service in services
        if (record := world.service_state(project["number"], service)) is not None
        and now - float(record.get("changedAt", 0.0)) < window
    ]
    if busy:
        raise ApiError(
            "FAILED_PRECONDITION",
            "Another activation or deactivation is in progress for the following service(s): "
            f"{','.join(busy)} and project {project['number']}.",
            legacy_reason="failedPrecondition",
        )


def activate(
    world: World, project: dict[str, Any], services: list[str], *, settled: bool = False
) -> None:
    """Mark `services` ENABLED and bring their agents into being (no checks).

    `settled`: as if done long ago — no propagation window, agents present, roles granted.
    """
    number = project["number"]
    now = world.now()
    settings = world.settings
    enabled_at = 0.0 if settled else now
    delay = 0.0 if settled else settings.service_agent_delay_s
    for service in services:
        if world.service_enabled(number, service):
            continue
        world.store.put(
            SERVICES,
            f"{number}/{service}",
            {"state": "ENABLED", "enabledAt": enabled_at, "changedAt": enabled_at},
        )
        agent = world.service_agent_email(number, service)
        if agent is None:
            continue
        existed = world.store.get(SERVICE_ACCOUNTS, agent) is not None
        world.create_service_agent(number, service, delay=delay)
        if settled:
            record = world.store.get(SERVICE_ACCOUNTS, agent) or {}
            world.store.put(SERVICE_ACCOUNTS, agent, {**record, "visibleAt": 0.0})
        if not existed and settings.auto_grant_service_agent_role:
            role = SERVICE_AGENT_DOMAINS[service][1]
            iam.schedule_grant(
                world,
                project_policy_name(number),
                role,
                f"serviceAccount:{agent}",
                at=now + delay,
            )


def _operation_name(world: World, number: str) -> str:
    return f"operations/acf.p2-{number}-{world.ids.uuid()}"


def enable(world: World, ref: str, service: str) -> dict[str, Any]:
    """`services.enable`: an operation, or the finished no-op one if already enabled."""
    project = project_for(world, ref, "serviceusage.services.enable")
    require_known(world, [service])
    number = project["number"]
    if world.service_enabled(number, service):
        return {
            "name": NOOP_OPERATION,
            "done": True,
            "response": {
                "@type": V1 + "EnableServiceResponse",
                "service": operation_service(number, service, "ENABLED"),
            },
        }
    targets = catalogue.with_dependencies([service])
    _check_conflict(world, project, [service])
    _check_billing(world, project, [s for s in targets if not world.service_enabled(number, s)])
    activate(world, project, targets)
    return lro.start(
        world,
        _operation_name(world, number),
        metadata=EMPTY_METADATA,
        response={
            "@type": V1 + "EnableServiceResponse",
            "service": operation_service(number, service, "ENABLED"),
        },
    )


def batch_enable(world: World, ref: str, service_ids: Any) -> dict[str, Any]:
    """`services.batchEnable`: at most 20, all or nothing."""
    project = project_for(world, ref, "serviceusage.services.enable")
    if not isinstance(service_ids, list) or not service_ids:
        raise invalid_argument("service_ids must contain at least one service.")
    if not all(isinstance(service, str) for service in service_ids):
        raise invalid_argument("service_ids must be service names.")
    if len(service_ids) > MAX_BATCH_ENABLE:
        raise invalid_argument(
            f"Too many services in the request: at most {MAX_BATCH_ENABLE} services can be "
            "enabled in a single request."
        )
    require_known(world, service_ids)
    number = project["number"]
    targets = catalogue.with_dependencies(list(dict.fromkeys(service_ids)))
    pending = [service for service in targets if not world.service_enabled(number, service)]
    _check_conflict(world, project, [s for s in service_ids if s in pending])
    _check_billing(world, project, pending)
    activate(world, project, targets)
    return lro.start(
        world,
        _operation_name(world, number),
        metadata={"@type": V1 + "OperationMetadata"},
        response={
            "@type": V1 + "BatchEnableServicesResponse",
            "services": [
                operation_service(number, service, "ENABLED")
                for service in dict.fromkeys(service_ids)
            ],
        },
    )


def disable(world: World, ref: str, service: str, body: dict[str, Any]) -> dict[str, Any]:
    """`services.disable`: FAILED_PRECONDITION unless enabled; dependents need the flag."""
    project = project_for(world, ref, "serviceusage.services.disable")
    require_known(world, [service])
    number = project["number"]
    if not world.service_enabled(number, service):
        raise ApiError(
            "FAILED_PRECONDITION",
            f"The service {service} is not enabled for consumer projects/{number}, so it cannot "
            "be disabled.",
            legacy_reason="failedPrecondition",
        )
    check = body.get("checkIfServiceHasUsage", "SKIP")
    if check not in ("SKIP", "CHECK", "CHECK_IF_SERVICE_HAS_USAGE_UNSPECIFIED", None):
        raise invalid_argument(f"Invalid value for check_if_service_has_usage: {check}")
    dependents = [
        other
        for other, needs in catalogue.DEPENDENCIES.items()
        if service in needs and world.service_enabled(number, other)
    ]
    if dependents and not body.get("disableDependentServices"):
        raise ApiError(
            "FAILED_PRECONDITION",
            f"The service {service} is depended on by the following active service(s): "
            f"{','.join(dependents)}; Please specify disable_dependent_services=true if you "
            "want to proceed with disabling all services.",
            legacy_reason="failedPrecondition",
        )
    _check_conflict(world, project, [service])
    now = world.now()
    for target in [service, *dependents]:
        world.store.put(SERVICES, f"{number}/{target}", {"state": "DISABLED", "changedAt": now})
    return lro.start(
        world,
        _operation_name(world, number),
        metadata=EMPTY_METADATA,
        response={
            "@type": V1 + "DisableServiceResponse",
            "service": operation_service(number, service, "DISABLED"),
        },
    )


def generate_service_identity(world: World, ref: str, service: str) -> dict[str, Any]:
    """v1beta1 `generateServiceIdentity`: answers at once with the agent's e-mail; the agent is
    usable in IAM policies after `service_identity_delay_s` (0 by default); no role is granted."""
    project = project_for(world, ref, "serviceusage.services.enable")
    require_known(world, [service])
    response: dict[str, Any] = {"@type": V1BETA1 + "ServiceIdentity"}
    delay = world.settings.service_identity_delay_s
    email = world.create_service_agent(project["number"], service, delay=delay)
    if email is not None:
        agent = world.store.get(SERVICE_ACCOUNTS, email) or {}
        response["email"] = email
        response["uniqueId"] = agent.get("uniqueId", "")
    return {"name": FINISHED_OPERATION, "done": True, "response": response}


def get_operation(world: World, name: str) -> dict[str, Any]:
    if name in (NOOP_OPERATION, FINISHED_OPERATION):
        raise ApiError(
            "INVALID_ARGUMENT" if world.settings.noop_operation_status == 400 else "NOT_FOUND",
            f"Operation '{name}' is a synthetic finished operation and cannot be polled.",
            http=world.settings.noop_operation_status,
        )
    operation = lro.poll(world, name) if name.startswith("operations/acf.") else None
    if operation is None:
        raise ApiError("NOT_FOUND", f"Operation '{name}' not found.")
    return operation
