"""The collections of Google's APIs that provision calls, as discovery method id prefixes
(`f"{DATASETS}.create"` is `healthcare.projects.locations.datasets.create`), declared once: the
kinds call their methods through them, and the gateway keys its write pacing, operation polling
and Resource Manager client on them."""

from __future__ import annotations

HEALTHCARE_LOCATIONS = "healthcare.projects.locations"
DATASETS = f"{HEALTHCARE_LOCATIONS}.datasets"
DICOM_STORES = f"{DATASETS}.dicomStores"
HEALTHCARE_OPERATIONS = f"{DATASETS}.operations"

PROJECTS = "cloudresourcemanager.projects"
FOLDERS = "cloudresourcemanager.folders"
ORGANIZATIONS = "cloudresourcemanager.organizations"
RESOURCE_MANAGER_OPERATIONS = "cloudresourcemanager.operations"

SERVICES = "serviceusage.services"
SERVICE_USAGE_OPERATIONS = "serviceusage.operations"

BILLING_ACCOUNTS = "cloudbilling.billingAccounts"
BILLING_INFO = "cloudbilling.projects"
"""A project's billing info (`getBillingInfo`, `updateBillingInfo`)."""

SERVICE_ACCOUNTS = "iam.projects.serviceAccounts"
ROLES = "iam.projects.roles"
"""Project-level custom roles."""

BUCKETS = "storage.buckets"
OBJECTS = "storage.objects"

TOPICS = "pubsub.projects.topics"

BIGQUERY_DATASETS = "bigquery.datasets"
BIGQUERY_TABLES = "bigquery.tables"
KEY_RINGS = "cloudkms.projects.locations.keyRings"
CRYPTO_KEYS = f"{KEY_RINGS}.cryptoKeys"
