"""Service Usage v1 / v1beta1 and Cloud Billing v1 against the real discovery clients."""

from __future__ import annotations

from typing import Any

import pytest
from googleapiclient.errors import HttpError

from provision.emulator.core.errors import ApiError
from provision.emulator.server import RunningEmulator
from tests.emulator.clients import (
    BILLING_ACCOUNT,
    control,
    discovery_client,
    error_body,
    seed_project,
)

HEALTHCARE = "healthcare.googleapis.com"


def _services(emulator: RunningEmulator) -> Any:
    return discovery_client(emulator, "serviceusage", "v1").services()


def _operations(emulator: RunningEmulator) -> Any:
    return discovery_client(emulator, "serviceusage", "v1").operations()


def _enabled(emulator: RunningEmulator, project: str) -> list[str]:
    listed = _services(emulator).list(parent=f"projects/{project}", filter="state:ENABLED")
    return [s["config"]["name"] for s in listed.execute().get("services", [])]


def test_enable_operation_shapes(emulator: RunningEmulator) -> None:
    number = seed_project(emulator, "su-shapes", billing=True)["name"].removeprefix("projects/")
    started = _services(emulator).enable(name=f"projects/su-shapes/services/{HEALTHCARE}").execute()
    assert list(started) == ["name"]
    assert started["name"].startswith(f"operations/acf.p2-{number}-")
    done = _operations(emulator).get(name=started["name"]).execute()
    assert done["done"] is True
    assert done["metadata"] == {"@type": "type.googleapis.com/google.protobuf.Empty", "value": {}}
    response = done["response"]
    assert (
        response["@type"] == "type.googleapis.com/google.api.serviceusage.v1.EnableServiceResponse"
    )
    assert response["service"]["name"] == f"projects/{number}/services/{HEALTHCARE}"
    assert response["service"]["parent"] == f"projects/{number}"
    assert response["service"]["state"] == "ENABLED"

    again = _services(emulator).enable(name=f"projects/su-shapes/services/{HEALTHCARE}").execute()
    assert again["name"] == "operations/noop.DONE_OPERATION"
    assert again["done"] is True
    with pytest.raises(HttpError) as poll_noop:
        _operations(emulator).get(name=again["name"]).execute()
    assert poll_noop.value.status_code == 400

    got = _services(emulator).get(name=f"projects/{number}/services/{HEALTHCARE}").execute()
    assert got["state"] == "ENABLED"
    assert got["config"]["title"] == "Cloud Healthcare API"


def test_operation_reports_done_after_configured_polls(emulator: RunningEmulator) -> None:
    control(emulator, "settings", {"lro_polls": 3})
    seed_project(emulator, "su-polls")
    started = (
        _services(emulator)
        .enable(name="projects/su-polls/services/pubsub.googleapis.com")
        .execute()
    )
    polls = [_operations(emulator).get(name=started["name"]).execute() for _ in range(3)]
    assert [poll.get("done", False) for poll in polls] == [False, False, True]
    assert "response" not in polls[0]


def test_batch_enable_limits_and_atomicity(emulator: RunningEmulator) -> None:
    seed_project(emulator, "su-batch", billing=True)
    catalogue = _services(emulator).list(parent="projects/su-batch", pageSize=200).execute()
    names = [s["config"]["name"] for s in catalogue["services"] if s["state"] == "DISABLED"]
    assert len(names) >= 21
    defaults = _enabled(emulator, "su-batch")
    assert "storage.googleapis.com" in defaults

    with pytest.raises(HttpError) as too_many:
        _services(emulator).batchEnable(
            parent="projects/su-batch", body={"serviceIds": names[:21]}
        ).execute()
    assert too_many.value.status_code == 400
    assert _enabled(emulator, "su-batch") == defaults

    with pytest.raises(HttpError) as bogus:
        _services(emulator).batchEnable(
            parent="projects/su-batch",
            body={"serviceIds": [HEALTHCARE, "gmail-api.googleapis.com"]},
        ).execute()
    assert bogus.value.status_code == 403
    body = error_body(bogus.value)["error"]
    assert body["message"] == (
        "Not found or permission denied for service(s): gmail-api.googleapis.com."
    )
    assert body["details"][0]["reason"] == "SERVICE_CONFIG_NOT_FOUND_OR_PERMISSION_DENIED"
    assert _enabled(emulator, "su-batch") == defaults

    started = (
        _services(emulator)
        .batchEnable(
            parent="projects/su-batch",
            body={"serviceIds": [HEALTHCARE, "pubsub.googleapis.com"]},
        )
        .execute()
    )
    done = _operations(emulator).get(name=started["name"]).execute()
    assert done["response"]["@type"].endswith("v1.BatchEnableServicesResponse")
    # As Google answers (golden serviceusage__service): name, parent and state, no config.
    assert [s["name"].rsplit("/", 1)[1] for s in done["response"]["services"]] == [
        HEALTHCARE,
        "pubsub.googleapis.com",
    ]
    assert {key for s in done["response"]["services"] for key in s} == {"name", "parent", "state"}
    assert _enabled(emulator, "su-batch") == sorted(
        [*defaults, HEALTHCARE, "pubsub.googleapis.com"]
    )


def test_list_pagination_and_filters(emulator: RunningEmulator) -> None:
    control(
        emulator,
        "settings",
        {
            "extra_services": [f"x{i:03}.example.com" for i in range(220)],
            "new_project_services": [],
        },
    )
    seed_project(emulator, "su-pages")
    services = _services(emulator)
    first = services.list(parent="projects/su-pages").execute()
    assert len(first["services"]) == 50
    big = services.list(parent="projects/su-pages", pageSize=1000).execute()
    assert len(big["services"]) == 200
    seen = [s["name"] for s in big["services"]]
    token = big.get("nextPageToken")
    while token:
        page = services.list(parent="projects/su-pages", pageSize=200, pageToken=token).execute()
        seen += [s["name"] for s in page["services"]]
        token = page.get("nextPageToken")
    assert len(seen) == len(set(seen)) > 220
    assert services.list(parent="projects/su-pages", filter="state:ENABLED").execute() == {}
    disabled = services.list(parent="projects/su-pages", filter="state:DISABLED").execute()
    assert all(s["state"] == "DISABLED" for s in disabled["services"])
    with pytest.raises(HttpError) as bad_filter:
        services.list(parent="projects/su-pages", filter="name:foo").execute()
    assert bad_filter.value.status_code == 400
    with pytest.raises(HttpError) as bad_token:
        services.list(parent="projects/su-pages", pageToken="forged").execute()
    assert bad_token.value.status_code == 400


def test_batch_get(emulator: RunningEmulator) -> None:
    number = seed_project(emulator, "su-batch-get", services=["pubsub.googleapis.com"])["name"]
    names = [f"{number}/services/pubsub.googleapis.com", f"{number}/services/{HEALTHCARE}"]
    got = _services(emulator).batchGet(parent="projects/su-batch-get", names=names).execute()
    assert [s["state"] for s in got["services"]] == ["ENABLED", "DISABLED"]
    with pytest.raises(HttpError) as too_many:
        _services(emulator).batchGet(parent="projects/su-batch-get", names=names * 16).execute()
    assert too_many.value.status_code == 400


def test_disable_rules(emulator: RunningEmulator) -> None:
    seed_project(emulator, "su-disable", billing=True, services=["container.googleapis.com"])
    services = _services(emulator)
    with pytest.raises(HttpError) as not_enabled:
        services.disable(name=f"projects/su-disable/services/{HEALTHCARE}", body={}).execute()
    assert not_enabled.value.status_code == 400
    assert error_body(not_enabled.value)["error"]["status"] == "FAILED_PRECONDITION"

    compute = "projects/su-disable/services/compute.googleapis.com"
    with pytest.raises(HttpError) as dependents:
        services.disable(name=compute, body={}).execute()
    assert error_body(dependents.value)["error"]["status"] == "FAILED_PRECONDITION"
    started = services.disable(name=compute, body={"disableDependentServices": True}).execute()
    done = _operations(emulator).get(name=started["name"]).execute()
    assert done["response"]["@type"].endswith("v1.DisableServiceResponse")
    assert done["response"]["service"]["state"] == "DISABLED"
    assert "container.googleapis.com" not in _enabled(emulator, "su-disable")


def test_billing_gate(emulator: RunningEmulator) -> None:
    number = seed_project(emulator, "su-billing")["name"].removeprefix("projects/")
    billing = discovery_client(emulator, "cloudbilling", "v1").projects()
    assert billing.getBillingInfo(name="projects/su-billing").execute() == {
        "name": "projects/su-billing/billingInfo",
        "projectId": "su-billing",
        "billingAccountName": "",
        "billingEnabled": False,
    }
    with pytest.raises(HttpError) as gated:
        _services(emulator).enable(name=f"projects/su-billing/services/{HEALTHCARE}").execute()
    assert gated.value.status_code == 400
    error = error_body(gated.value)["error"]
    assert error["status"] == "FAILED_PRECONDITION"
    assert error["message"].startswith(
        f"Billing account for project '{number}' is not found. Billing must be enabled for "
        f"activation of service(s) '{HEALTHCARE}' to proceed.\nHelp Token: "
    )
    violation, info = error["details"]
    assert violation == {
        "@type": "type.googleapis.com/google.rpc.PreconditionFailure",
        "violations": [
            {
                "subject": f"?error_code=390001&project={number}&services={HEALTHCARE}",
                "type": "googleapis.com/billing-enabled",
            }
        ],
    }
    assert info == {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "UREQ_PROJECT_BILLING_NOT_FOUND",
        "domain": "serviceusage.googleapis.com/billing-enabled",
        "metadata": {"project": number, "services": HEALTHCARE},
    }
    free = _services(emulator).enable(name="projects/su-billing/services/iam.googleapis.com")
    assert free.execute()["name"].startswith("operations/acf.")

    linked = billing.updateBillingInfo(
        name="projects/su-billing", body={"billingAccountName": BILLING_ACCOUNT}
    ).execute()
    assert linked["billingEnabled"] is True
    assert linked["billingAccountName"] == BILLING_ACCOUNT
    enabled = _services(emulator).enable(name=f"projects/su-billing/services/{HEALTHCARE}")
    assert enabled.execute()["name"].startswith("operations/acf.")

    unlinked = billing.updateBillingInfo(
        name="projects/su-billing", body={"billingAccountName": ""}
    ).execute()
    assert unlinked["billingEnabled"] is False
    assert unlinked["billingAccountName"] == ""


def test_billing_validation_and_missing_project(emulator: RunningEmulator) -> None:
    number = seed_project(emulator, "bill-check")["name"].removeprefix("projects/")
    billing = discovery_client(emulator, "cloudbilling", "v1").projects()
    with pytest.raises(HttpError) as bad:
        billing.updateBillingInfo(
            name="projects/bill-check", body={"billingAccountName": "billingAccounts/nope"}
        ).execute()
    assert bad.value.status_code == 400
    with pytest.raises(HttpError) as missing:
        billing.getBillingInfo(name="projects/no-such-project").execute()
    assert missing.value.status_code == 403
    by_number = billing.getBillingInfo(name=f"projects/{number}").execute()
    assert by_number["name"] == f"projects/{number}/billingInfo"
    control(emulator, "settings", {"closed_billing_accounts": [BILLING_ACCOUNT]})
    closed = billing.updateBillingInfo(
        name="projects/bill-check", body={"billingAccountName": BILLING_ACCOUNT}
    ).execute()
    assert closed["billingEnabled"] is False


def test_enabling_creates_the_agent_and_grants_its_role(emulator: RunningEmulator) -> None:
    number = seed_project(emulator, "su-agent", billing=True)["name"].removeprefix("projects/")
    agent = f"service-{number}@gcp-sa-healthcare.iam.gserviceaccount.com"
    crm = discovery_client(emulator, "cloudresourcemanager", "v3").projects()
    policy = crm.getIamPolicy(resource="projects/su-agent", body={}).execute()
    grant = {"role": "roles/healthcare.datasetViewer", "members": [f"serviceAccount:{agent}"]}
    with pytest.raises(HttpError) as absent:
        crm.setIamPolicy(
            resource="projects/su-agent",
            body={"policy": {**policy, "bindings": [*policy["bindings"], grant]}},
        ).execute()
    assert error_body(absent.value)["error"]["message"] == (
        f"Service account {agent} does not exist."
    )

    _services(emulator).enable(name=f"projects/su-agent/services/{HEALTHCARE}").execute()
    policy = crm.getIamPolicy(resource="projects/su-agent", body={}).execute()
    assert {"role": "roles/healthcare.serviceAgent", "members": [f"serviceAccount:{agent}"]} in (
        policy["bindings"]
    )
    crm.setIamPolicy(
        resource="projects/su-agent",
        body={"policy": {**policy, "bindings": [*policy["bindings"], grant]}},
    ).execute()


def test_agent_appears_after_the_configured_delay(emulator: RunningEmulator) -> None:
    control(emulator, "settings", {"service_agent_delay_s": 30})
    number = seed_project(emulator, "su-late", billing=True)["name"].removeprefix("projects/")
    agent = f"service-{number}@gcp-sa-healthcare.iam.gserviceaccount.com"
    _services(emulator).enable(name=f"projects/su-late/services/{HEALTHCARE}").execute()
    world = emulator.world
    assert world.service_account(agent) is None
    crm = discovery_client(emulator, "cloudresourcemanager", "v3").projects()
    roles = [
        b["role"]
        for b in crm.getIamPolicy(resource="projects/su-late", body={}).execute()["bindings"]
    ]
    assert roles == ["roles/owner"]
    clock = world.clock
    world.clock = lambda: clock() + 31
    try:
        assert world.service_account(agent) is not None
        policy = crm.getIamPolicy(resource="projects/su-late", body={}).execute()
        assert "roles/healthcare.serviceAgent" in [b["role"] for b in policy["bindings"]]
    finally:
        world.clock = clock


def test_generate_service_identity(emulator: RunningEmulator) -> None:
    number = seed_project(emulator, "su-identity")["name"].removeprefix("projects/")
    beta = discovery_client(emulator, "serviceusage", "v1beta1").services()
    operation = beta.generateServiceIdentity(
        parent=f"projects/su-identity/services/{HEALTHCARE}"
    ).execute()
    agent = f"service-{number}@gcp-sa-healthcare.iam.gserviceaccount.com"
    assert operation["name"] == "operations/finished.DONE_OPERATION"
    assert operation["done"] is True
    identity = operation["response"]
    assert (
        identity["@type"] == "type.googleapis.com/google.api.serviceusage.v1beta1.ServiceIdentity"
    )
    assert identity["email"] == agent
    assert len(identity["uniqueId"]) == 21
    assert emulator.world.service_account(agent) is not None
    crm = discovery_client(emulator, "cloudresourcemanager", "v3").projects()
    roles = [
        b["role"]
        for b in crm.getIamPolicy(resource="projects/su-identity", body={}).execute()["bindings"]
    ]
    assert roles == ["roles/owner"]
    again = beta.generateServiceIdentity(
        parent=f"projects/su-identity/services/{HEALTHCARE}"
    ).execute()
    assert again["response"] == identity
    no_agent = beta.generateServiceIdentity(
        parent="projects/su-identity/services/iam.googleapis.com"
    ).execute()
    assert "email" not in no_agent["response"]


def test_enabled_api_propagates_after_the_window(emulator: RunningEmulator) -> None:
    control(emulator, "settings", {"service_enable_propagation_s": 60})
    seed_project(emulator, "su-propagation", billing=True)
    _services(emulator).enable(name=f"projects/su-propagation/services/{HEALTHCARE}").execute()
    world = emulator.world
    with pytest.raises(ApiError) as disabled:
        world.require_service("su-propagation", HEALTHCARE, domain=HEALTHCARE)
    assert disabled.value.details[0]["reason"] == "SERVICE_DISABLED"
    clock = world.clock
    world.clock = lambda: clock() + 61
    try:
        world.require_service("su-propagation", HEALTHCARE, domain=HEALTHCARE)
    finally:
        world.clock = clock


def test_activation_conflict_when_configured(emulator: RunningEmulator) -> None:
    control(emulator, "settings", {"service_activation_conflict_s": 60})
    seed_project(emulator, "su-conflict")
    services = _services(emulator)
    name = "projects/su-conflict/services/pubsub.googleapis.com"
    services.enable(name=name).execute()
    with pytest.raises(HttpError) as busy:
        services.disable(name=name, body={}).execute()
    assert error_body(busy.value)["error"]["message"].startswith(
        "Another activation or deactivation is in progress for the following service(s): "
        "pubsub.googleapis.com"
    )


def test_missing_project_and_unknown_service(emulator: RunningEmulator) -> None:
    services = _services(emulator)
    with pytest.raises(HttpError) as missing:
        services.list(parent="projects/nope-nope-nope").execute()
    assert missing.value.status_code == 403
    seed_project(emulator, "su-unknown")
    with pytest.raises(HttpError) as unknown:
        services.enable(name="projects/su-unknown/services/gmail-api.googleapis.com").execute()
    assert unknown.value.status_code == 403
