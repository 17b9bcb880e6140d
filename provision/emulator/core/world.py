"""The emulated world every API shares: state, settings, ids, clock, and the cross-API facts
(projects and their numbers, enabled services, service accounts and agents) that one API checks
on behalf of another. API packages read each other's state only through these helpers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from provision.emulator.core.errors import ApiError, error_info, permission_denied
from provision.emulator.core.ids import Ids
from provision.emulator.core.journal import Journal
from provision.emulator.core.quotas import QuotaLedger
from provision.emulator.core.settings import EmulatorSettings
from provision.emulator.core.store import Store

# Collections shared across APIs (key in parentheses).
PROJECTS = "projects"  # projectId
SERVICES = "services"  # "{projectNumber}/{service}"
BILLING = "billing"  # projectId
SERVICE_ACCOUNTS = "service_accounts"  # email (user-created accounts and service agents)
POLICIES = "policies"  # full resource name; a project's policy is "projects/{projectNumber}"
OPERATIONS = "operations"  # operation name

SERVICE_TITLES: Mapping[str, str] = {
    "healthcare.googleapis.com": "Cloud Healthcare API",
    "cloudresourcemanager.googleapis.com": "Cloud Resource Manager API",
    "serviceusage.googleapis.com": "Service Usage API",
    "storage.googleapis.com": "Cloud Storage API",
    "storage-api.googleapis.com": "Google Cloud Storage JSON API",
    "iam.googleapis.com": "Identity and Access Management (IAM) API",
    "cloudbilling.googleapis.com": "Cloud Billing API",
    "pubsub.googleapis.com": "Cloud Pub/Sub API",
    "bigquery.googleapis.com": "BigQuery API",
    "cloudkms.googleapis.com": "Cloud Key Management Service (KMS) API",
}

SERVICE_AGENT_DOMAINS: Mapping[str, tuple[str, str]] = {
    # service -> (agent email domain, role granted on the project when enabling creates it)
    "healthcare.googleapis.com": ("gcp-sa-healthcare", "roles/healthcare.serviceAgent"),
    "pubsub.googleapis.com": ("gcp-sa-pubsub", "roles/pubsub.serviceAgent"),
}


def rfc3339(timestamp: float) -> str:
    return (
        datetime.fromtimestamp(timestamp, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


@dataclass
class World:
    store: Store
    settings: EmulatorSettings = field(default_factory=EmulatorSettings)
    ids: Ids = field(default_factory=Ids)
    journal: Journal = field(default_factory=Journal)
    clock: Callable[[], float] = time.time
    settings_lock: threading.Lock = field(default_factory=threading.Lock)
    quotas: QuotaLedger = field(default_factory=QuotaLedger)

    def now(self) -> float:
        return self.clock()

    def now_rfc3339(self) -> str:
        return rfc3339(self.now())

    def configure(self, changes: Mapping[str, Any]) -> None:
        with self.settings_lock:
            self.settings = self.settings.updated(dict(changes))

    def reset(self, settings: EmulatorSettings | None = None) -> None:
        """Forget all state and journal; restore `settings` (default settings if None)."""
        with self.store.lock:
            self.store.clear()
            self.journal.clear()
            self.quotas.clear()
            self.settings = settings or EmulatorSettings()
            self.ids.reseed(self.settings.seed)

    # ----- projects

    def find_project(self, ref: str) -> dict[str, Any] | None:
        """A project by id or number (`ref` may carry a `projects/` prefix)."""
        ref = ref.removeprefix("projects/")
        project = self.store.get(PROJECTS, ref)
        if project is not None:
            return project
        if ref.isdigit():
            for candidate in self.store.values(PROJECTS):
                if candidate["number"] == ref:
                    return candidate
        return None

    def require_project(self, ref: str, permission: str, domain: str) -> dict[str, Any]:
        """The project, or Google's 403 "(or it may not exist)" for a missing one."""
        project = self.find_project(ref)
        if project is None or project.get("state") != "ACTIVE":
            name = ref if ref.startswith("projects/") else f"projects/{ref}"
            raise permission_denied(permission, name, domain)
        return project

    # ----- billing

    def billing_enabled(self, project_id: str, *, settled: bool = False) -> bool:
        """True when an open billing account is linked to the project.

        `settled` also requires the link to be older than `billing_propagation_s`.
        """
        info = self.store.get(BILLING, project_id)
        if info is None or not info.get("billingAccountName"):
            return False
        if info["billingAccountName"] in self.settings.closed_billing_accounts:
            return False
        if settled:
            linked_at = float(info.get("linkedAt", 0.0))
            return self.now() >= linked_at + self.settings.billing_propagation_s
        return True

    # ----- services

    def service_state(self, project_number: str, service: str) -> dict[str, Any] | None:
        return self.store.get(SERVICES, f"{project_number}/{service}")

    def service_enabled(self, project_number: str, service: str) -> bool:
        state = self.service_state(project_number, service)
        return state is not None and state.get("state") == "ENABLED"

    def require_service(self, project_ref: str, service: str, *, domain: str) -> dict[str, Any]:
        """The project, if `service` is enabled on it and propagated; else 403 SERVICE_DISABLED.

        A missing project is a 403 permission error, as Google answers.
        """
        project = self.require_project(project_ref, "resourcemanager.projects.get", domain)
        state = self.service_state(project["number"], service)
        propagated = state is not None and state.get("state") == "ENABLED"
        if propagated and state is not None:
            window = self.settings.service_enable_propagation_s
            propagated = self.now() >= float(state.get("enabledAt", 0.0)) + window
        if not propagated:
            raise service_disabled(project["number"], service)
        return project

    # ----- service accounts and agents

    def service_account(self, email: str) -> dict[str, Any] | None:
        """A user-created service account, or a service agent that has come into existence."""
        account = self.store.get(SERVICE_ACCOUNTS, email.lower())
        if account is None:
            return None
        if float(account.get("visibleAt", 0.0)) > self.now():
            return None
        return account

    def service_agent_email(self, project_number: str, service: str) -> str | None:
        domain = SERVICE_AGENT_DOMAINS.get(service)
        if domain is None:
            return None
        return f"service-{project_number}@{domain[0]}.iam.gserviceaccount.com"

    def create_service_agent(
        self, project_number: str, service: str, *, delay: float
    ) -> str | None:
        """Make the service's agent exist (after `delay` seconds); returns its email."""
        email = self.service_agent_email(project_number, service)
        if email is None:
            return None
        existing = self.store.get(SERVICE_ACCOUNTS, email)
        visible_at = self.now() + delay
        if existing is not None:
            visible_at = min(visible_at, float(existing.get("visibleAt", visible_at)))
        self.store.put(
            SERVICE_ACCOUNTS,
            email,
            {
                "email": email,
                "projectNumber": project_number,
                "serviceAgent": service,
                "uniqueId": existing["uniqueId"] if existing else self.ids.digits(21),
                "visibleAt": visible_at,
            },
        )
        return email


def project_policy_name(project_number: str) -> str:
    """The key of a project's IAM policy in `POLICIES`."""
    return f"projects/{project_number}"


def service_disabled(project_number: str, service: str) -> ApiError:
    """403 SERVICE_DISABLED exactly as Google sends it (ErrorInfo, LocalizedMessage, Help)."""
    title = SERVICE_TITLES.get(service, service)
    url = f"https://console.developers.google.com/apis/api/{service}/overview?project={project_number}"
    message = (
        f"{title} has not been used in project {project_number} before or it is disabled. "
        f"Enable it by visiting {url} then retry. If you enabled this API recently, wait a few "
        "minutes for the action to propagate to our systems and retry."
    )
    return ApiError(
        "PERMISSION_DENIED",
        message,
        details=[
            error_info(
                "SERVICE_DISABLED",
                "googleapis.com",
                {
                    "service": service,
                    "consumer": f"projects/{project_number}",
                    "serviceTitle": title,
                    "containerInfo": project_number,
                    "activationUrl": url,
                },
            ),
            {
                "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                "locale": "en-US",
                "message": message,
            },
            {
                "@type": "type.googleapis.com/google.rpc.Help",
                "links": [{"description": "Google developers console API activation", "url": url}],
            },
        ],
    )
