"""The public services Service Usage knows: names, titles, and the dependencies enabling pulls in.

Unknown names answer 403 SERVICE_CONFIG_NOT_FOUND_OR_PERMISSION_DENIED, as Google does for a
name it has no configuration for. The `extra_services` setting adds names.
"""

from __future__ import annotations

from collections.abc import Mapping

from provision.emulator.core.world import SERVICE_TITLES

TITLES: Mapping[str, str] = {
    **SERVICE_TITLES,
    "aiplatform.googleapis.com": "Vertex AI API",
    "analyticshub.googleapis.com": "Analytics Hub API",
    "artifactregistry.googleapis.com": "Artifact Registry API",
    "bigquerystorage.googleapis.com": "BigQuery Storage API",
    "cloudapis.googleapis.com": "Google Cloud APIs",
    "cloudbuild.googleapis.com": "Cloud Build API",
    "cloudfunctions.googleapis.com": "Cloud Functions API",
    "cloudtrace.googleapis.com": "Cloud Trace API",
    "composer.googleapis.com": "Cloud Composer API",
    "compute.googleapis.com": "Compute Engine API",
    "container.googleapis.com": "Kubernetes Engine API",
    "containerregistry.googleapis.com": "Container Registry API",
    "dataflow.googleapis.com": "Dataflow API",
    "dataproc.googleapis.com": "Cloud Dataproc API",
    "datastore.googleapis.com": "Cloud Datastore API",
    "dns.googleapis.com": "Cloud DNS API",
    "file.googleapis.com": "Cloud Filestore API",
    "iamcredentials.googleapis.com": "IAM Service Account Credentials API",
    "logging.googleapis.com": "Cloud Logging API",
    "monitoring.googleapis.com": "Cloud Monitoring API",
    "oslogin.googleapis.com": "Cloud OS Login API",
    "redis.googleapis.com": "Google Cloud Memorystore for Redis API",
    "run.googleapis.com": "Cloud Run Admin API",
    "secretmanager.googleapis.com": "Secret Manager API",
    "servicemanagement.googleapis.com": "Service Management API",
    "sql-component.googleapis.com": "Cloud SQL",
    "sqladmin.googleapis.com": "Cloud SQL Admin API",
    "storage-component.googleapis.com": "Cloud Storage",
}

DEPENDENCIES: Mapping[str, tuple[str, ...]] = {
    # service -> services enabling it also enables (a small, representative subset).
    "container.googleapis.com": ("compute.googleapis.com", "containerregistry.googleapis.com"),
    "dataflow.googleapis.com": ("compute.googleapis.com", "storage-api.googleapis.com"),
    "dataproc.googleapis.com": ("compute.googleapis.com", "storage-component.googleapis.com"),
    "cloudfunctions.googleapis.com": ("cloudbuild.googleapis.com",),
    "bigquery.googleapis.com": ("bigquerystorage.googleapis.com",),
    "run.googleapis.com": ("containerregistry.googleapis.com",),
}


def known(extra: tuple[str, ...] = ()) -> list[str]:
    """Every known service name, sorted."""
    return sorted(set(TITLES) | set(extra))


def title(service: str) -> str:
    return TITLES.get(service, service)


def with_dependencies(services: list[str]) -> list[str]:
    """`services` followed by the services they pull in (each once, in a stable order)."""
    ordered: list[str] = []
    pending = list(services)
    while pending:
        service = pending.pop(0)
        if service in ordered:
            continue
        ordered.append(service)
        pending.extend(DEPENDENCIES.get(service, ()))
    return ordered
