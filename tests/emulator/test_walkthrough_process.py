"""The Healthcare walkthrough a site follows by hand, done by a client that knows nothing but
google-api-python-client, against `provision emulator serve` running as its own process.

Along the way it checks Google's exact error envelopes for the documented failure cases.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httplib2
import pytest
from googleapiclient import discovery
from googleapiclient.errors import HttpError

from tests.emulator.test_process import _serve

PROJECT = "walkthrough-4821"
DATASET_PARENT = f"projects/{PROJECT}/locations/us-central1"


def _client(base: str, api: str, version: str) -> Any:
    return discovery.build(
        api,
        version,
        static_discovery=True,
        client_options={"api_endpoint": base + "/"},
        http=httplib2.Http(timeout=10),
    )


def _wait(get: Any, operation: dict[str, Any]) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while not operation.get("done"):
        assert time.monotonic() < deadline, f"operation never finished: {operation}"
        time.sleep(0.02)
        operation = get(name=operation["name"]).execute()
    assert "error" not in operation, operation
    return operation


def _error(call: Any) -> dict[str, Any]:
    with pytest.raises(HttpError) as raised:
        call.execute()
    body: dict[str, Any] = json.loads(raised.value.content)["error"]
    body["http"] = raised.value.resp.status
    return body


def _reason(error: dict[str, Any]) -> str:
    for detail in error.get("details", []):
        if detail.get("@type") == "type.googleapis.com/google.rpc.ErrorInfo":
            return str(detail["reason"])
    return ""


def test_manual_healthcare_setup_from_a_separate_process() -> None:
    with _serve("--quiet") as (base, _):
        crm = _client(base, "cloudresourcemanager", "v3")
        usage = _client(base, "serviceusage", "v1")
        billing = _client(base, "cloudbilling", "v1")
        healthcare = _client(base, "healthcare", "v1")
        datasets = healthcare.projects().locations().datasets()

        # A missing project is a 403 "(or it may not exist)", never a 404.
        missing = _error(crm.projects().get(name=f"projects/{PROJECT}"))
        assert (missing["http"], missing["status"]) == (403, "PERMISSION_DENIED")
        assert missing["message"].endswith("(or it may not exist).")

        created = _wait(
            crm.operations().get,
            crm.projects()
            .create(body={"projectId": PROJECT, "displayName": "Walkthrough"})
            .execute(),
        )
        number = created["response"]["name"].removeprefix("projects/")
        assert number.isdigit()

        # Healthcare before the API is enabled: 403 SERVICE_DISABLED with the consumer's number.
        disabled = _error(datasets.create(parent=DATASET_PARENT, datasetId="imaging", body={}))
        assert (disabled["http"], _reason(disabled)) == (403, "SERVICE_DISABLED")
        assert disabled["details"][0]["metadata"]["consumer"] == f"projects/{number}"

        # Enabling a paid API without billing: 400 UREQ_PROJECT_BILLING_NOT_FOUND.
        service = f"projects/{PROJECT}/services/healthcare.googleapis.com"
        unbilled = _error(usage.services().enable(name=service, body={}))
        assert (unbilled["http"], unbilled["status"]) == (400, "FAILED_PRECONDITION")
        assert _reason(unbilled) == "UREQ_PROJECT_BILLING_NOT_FOUND"

        info = billing.projects().getBillingInfo(name=f"projects/{PROJECT}").execute()
        assert (info["billingAccountName"], info["billingEnabled"]) == ("", False)
        billing.projects().updateBillingInfo(
            name=f"projects/{PROJECT}",
            body={"billingAccountName": "billingAccounts/0A1B2C-3D4E5F-6A7B8C"},
        ).execute()

        enabled = _wait(
            usage.operations().get, usage.services().enable(name=service, body={}).execute()
        )
        assert enabled["response"]["service"]["name"] == (
            f"projects/{number}/services/healthcare.googleapis.com"
        )

        dataset = _wait(
            datasets.operations().get,
            datasets.create(
                parent=DATASET_PARENT, datasetId="imaging", body={"timeZone": "UTC"}
            ).execute(),
        )
        dataset_name = dataset["response"]["name"]
        assert dataset_name == f"{DATASET_PARENT}/datasets/imaging"
        duplicate = _error(datasets.create(parent=DATASET_PARENT, datasetId="imaging", body={}))
        assert (duplicate["http"], duplicate["status"]) == (409, "ALREADY_EXISTS")

        stores = datasets.dicomStores()
        store = stores.create(
            parent=dataset_name, dicomStoreId="main", body={"labels": {"env": "dev"}}
        ).execute()
        assert store["name"] == f"{dataset_name}/dicomStores/main"

        # IAM with etags: a write carrying the read's etag wins, a stale one is ABORTED.
        policy = stores.getIamPolicy(resource=store["name"]).execute()
        binding = {"role": "roles/healthcare.dicomViewer", "members": ["group:viewers@example.com"]}
        written = stores.setIamPolicy(
            resource=store["name"], body={"policy": {"bindings": [binding], "etag": policy["etag"]}}
        ).execute()
        assert written["bindings"] == [binding]
        assert written["etag"] != policy["etag"]
        stale = _error(
            stores.setIamPolicy(
                resource=store["name"], body={"policy": {"bindings": [], "etag": policy["etag"]}}
            )
        )
        assert (stale["http"], stale["status"]) == (409, "ABORTED")
        assert stale["message"] == (
            "There were concurrent policy changes. Please retry the whole read-modify-write "
            "with exponential backoff."
        )

        # Granting to a service account that does not exist: 400 "... does not exist."
        project_policy = (
            crm.projects().getIamPolicy(resource=f"projects/{PROJECT}", body={}).execute()
        )
        ghost = "ghost-account@walkthrough-4821.iam.gserviceaccount.com"
        unknown = _error(
            crm.projects().setIamPolicy(
                resource=f"projects/{PROJECT}",
                body={
                    "policy": {
                        "bindings": [
                            *project_policy["bindings"],
                            {"role": "roles/viewer", "members": [f"serviceAccount:{ghost}"]},
                        ],
                        "etag": project_policy["etag"],
                    }
                },
            )
        )
        assert (unknown["http"], unknown["message"]) == (
            400,
            f"Service account {ghost} does not exist.",
        )

        # The Healthcare service agent exists now that the API is enabled.
        agent = f"serviceAccount:service-{number}@gcp-sa-healthcare.iam.gserviceaccount.com"
        granted = (
            crm.projects()
            .setIamPolicy(
                resource=f"projects/{PROJECT}",
                body={
                    "policy": {
                        "bindings": [
                            *project_policy["bindings"],
                            {"role": "roles/viewer", "members": [agent]},
                        ],
                        "etag": project_policy["etag"],
                    }
                },
            )
            .execute()
        )
        assert {"role": "roles/viewer", "members": [agent]} in granted["bindings"]
