"""Pure helpers for Google resource names and well-known principals."""

from __future__ import annotations

SERVICE_AGENT_DOMAINS: dict[str, str] = {
    "healthcare.googleapis.com": "gcp-sa-healthcare.iam.gserviceaccount.com",
}


def service_agent_email(service: str, project_number: str) -> str:
    """The primary service agent of `service`, e.g. service-N@gcp-sa-healthcare.iam...."""
    domain = SERVICE_AGENT_DOMAINS.get(service)
    if domain is None:
        short = service.split(".", 1)[0]
        domain = f"gcp-sa-{short}.iam.gserviceaccount.com"
    return f"service-{project_number}@{domain}"
