"""Pure helpers for Google resource names and well-known principals."""

from __future__ import annotations

SERVICE_AGENT_DOMAINS: dict[str, str] = {
    "healthcare.googleapis.com": "gcp-sa-healthcare.iam.gserviceaccount.com",
}


def project_name(project: str) -> str:
    """`projects/{id-or-number}`."""
    return project if project.startswith("projects/") else f"projects/{project}"


def project_id_of(name: str) -> str:
    """The project segment of `projects/{p}/...`."""
    parts = name.split("/")
    if len(parts) < 2 or parts[0] != "projects" or not parts[1]:
        raise ValueError(f"not a project-scoped name: {name!r}")
    return parts[1]


def service_agent_email(service: str, project_number: str) -> str:
    """The primary service agent of `service`, e.g. service-N@gcp-sa-healthcare.iam...."""
    domain = SERVICE_AGENT_DOMAINS.get(service)
    if domain is None:
        short = service.split(".", 1)[0]
        domain = f"gcp-sa-{short}.iam.gserviceaccount.com"
    return f"service-{project_number}@{domain}"
