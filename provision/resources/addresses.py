"""Every kind's name, its address constructor, and the Google resource names they are made of
(pure; the graph keys used by expansion and kinds)."""

from __future__ import annotations

import hashlib

from provision.model import Address

PROJECT = "project"
BILLING = "billing"
SERVICES = "services"
PROJECT_IAM = "project_iam"
HEALTHCARE_LOCATION = "healthcare.location"
DATASET = "healthcare.dataset"
DATASET_IAM = "healthcare.dataset_iam"
DICOM_STORE = "healthcare.dicom_store"
DICOM_STORE_IAM = "healthcare.dicom_store_iam"
DICOM_IMPORT = "healthcare.dicom_import"
STORAGE_PROJECT = "storage.project"
BUCKET = "storage.bucket"
BUCKET_IAM = "storage.bucket_iam"
SERVICE_AGENT = "service_agent"
TOPIC_IAM = "pubsub.topic_iam"
CUSTOM_ROLE = "iam.custom_role"
KEY_RING = "kms.key_ring"
CRYPTO_KEY = "kms.crypto_key"
CRYPTO_KEY_IAM = "kms.crypto_key_iam"
PROJECT_AUDIT = "project_audit"
TOPIC = "pubsub.topic"
BIGQUERY_DATASET = "bigquery.dataset"
BIGQUERY_DATASET_IAM = "bigquery.dataset_iam"
DICOM_DEIDENTIFY = "healthcare.dicom_deidentify"


def project_name(project_id: str) -> str:
    """`projects/{id}`: the project's name, and the parent of what it holds."""
    return f"projects/{project_id}"


def project(project_id: str) -> Address:
    return Address(PROJECT, project_name(project_id))


def billing(project_id: str) -> Address:
    return Address(BILLING, f"projects/{project_id}/billingInfo")


def services(project_id: str) -> Address:
    return Address(SERVICES, f"projects/{project_id}/services")


def service_name(project_id: str, service: str) -> str:
    """Service Usage's name of `service` (e.g. `healthcare.googleapis.com`) on the project."""
    return f"projects/{project_id}/services/{service}"


def custom_role_name(project_id: str, role_id: str) -> str:
    """`projects/{id}/roles/{roleId}`: a project-level custom role, as bindings grant it."""
    return f"projects/{project_id}/roles/{role_id}"


def custom_role(project_id: str, role_id: str) -> Address:
    return Address(CUSTOM_ROLE, custom_role_name(project_id, role_id))


def project_iam(project_id: str) -> Address:
    return Address(PROJECT_IAM, project_name(project_id))


def location_name(project_id: str, location: str) -> str:
    return f"projects/{project_id}/locations/{location}"


def healthcare_location(project_id: str, location: str) -> Address:
    return Address(HEALTHCARE_LOCATION, location_name(project_id, location))


def dataset_name(project_id: str, location: str, dataset_id: str) -> str:
    return f"{location_name(project_id, location)}/datasets/{dataset_id}"


def operation_name(dataset: str, operation_id: str) -> str:
    """A long-running operation of the dataset `dataset` (its full name)."""
    return f"{dataset}/operations/{operation_id}"


def dataset(project_id: str, location: str, dataset_id: str) -> Address:
    return Address(DATASET, dataset_name(project_id, location, dataset_id))


def dataset_iam(project_id: str, location: str, dataset_id: str) -> Address:
    return Address(DATASET_IAM, dataset_name(project_id, location, dataset_id))


def dicom_store_name(dataset: str, store_id: str) -> str:
    """`dataset` is the dataset's full name."""
    return f"{dataset}/dicomStores/{store_id}"


def split_store_name(name: str) -> tuple[str, str]:
    """(dataset name, store id) of a DICOM store's full name."""
    dataset, _, store_id = name.rpartition("/dicomStores/")
    return dataset, store_id


def dicom_store(dataset: str, store_id: str) -> Address:
    return Address(DICOM_STORE, dicom_store_name(dataset, store_id))


def dicom_store_iam(dataset: str, store_id: str) -> Address:
    return Address(DICOM_STORE_IAM, dicom_store_name(dataset, store_id))


def uri_hash(uri: str) -> str:
    """8 lowercase hex digits identifying `uri` (import address names and label keys)."""
    return hashlib.sha256(uri.encode("utf-8")).hexdigest()[:8]


def dicom_import_name(store: str, uri: str) -> str:
    """`store` is the DICOM store's full name; `uri` the `gs://` URI imported into it."""
    return f"{store}/imports/{uri_hash(uri)}"


def dicom_import(store: str, uri: str) -> Address:
    return Address(DICOM_IMPORT, dicom_import_name(store, uri))


def storage_project(project_id: str) -> Address:
    return Address(STORAGE_PROJECT, f"projects/{project_id}/buckets")


def bucket_name(name: str) -> str:
    """A bucket's full resource name (also its IAM policy's `resourceId`)."""
    return f"projects/_/buckets/{name}"


def bucket(name: str) -> Address:
    return Address(BUCKET, bucket_name(name))


def bucket_iam(name: str) -> Address:
    return Address(BUCKET_IAM, bucket_name(name))


def bucket_of(address_name: str) -> str:
    """The bucket name in `projects/_/buckets/{name}`."""
    return address_name.rsplit("/", 1)[-1]


def bucket_of_uri(uri: str) -> str:
    """The bucket of `gs://{bucket}/{path}`."""
    return uri.removeprefix("gs://").split("/", 1)[0]


def service_agent(project_id: str, service: str) -> Address:
    return Address(SERVICE_AGENT, f"projects/{project_id}/serviceAgents/{service}")


def topic_iam(topic: str) -> Address:
    """`topic` is `projects/{p}/topics/{t}`."""
    return Address(TOPIC_IAM, topic)


def topic_name(project_id: str, topic_id: str) -> str:
    """`projects/{p}/topics/{t}`: a Pub/Sub topic's full name."""
    return f"projects/{project_id}/topics/{topic_id}"


def topic(project_id: str, topic_id: str) -> Address:
    return Address(TOPIC, topic_name(project_id, topic_id))


def split_topic_name(name: str) -> tuple[str, str]:
    """(project, topic id) of `projects/{p}/topics/{t}`."""
    parts = name.split("/")
    return parts[1], parts[-1]


def bigquery_dataset_name(project_id: str, dataset_id: str) -> str:
    """`projects/{p}/datasets/{d}`: a BigQuery dataset (the path of its REST resource)."""
    return f"projects/{project_id}/datasets/{dataset_id}"


def split_bigquery_dataset_name(name: str) -> tuple[str, str]:
    """(project, dataset id) of `projects/{p}/datasets/{d}`."""
    parts = name.split("/")
    return parts[1], parts[3]


def bigquery_dataset(project_id: str, dataset_id: str) -> Address:
    return Address(BIGQUERY_DATASET, bigquery_dataset_name(project_id, dataset_id))


def bigquery_dataset_iam(project_id: str, dataset_id: str) -> Address:
    return Address(BIGQUERY_DATASET_IAM, bigquery_dataset_name(project_id, dataset_id))


def bigquery_dataset_of_table(table_uri: str) -> tuple[str, str]:
    """(project, dataset id) of `bq://{project}.{dataset}.{table}`."""
    project_id, dataset_id, _ = table_uri.removeprefix("bq://").split(".", 2)
    return project_id, dataset_id


def dicom_deidentify_name(destination: str, source: str) -> str:
    """The de-identified copy into the store `destination` of the store `source` (full names)."""
    return f"{destination}/deidentifiedFrom/{uri_hash(source)}"


def dicom_deidentify(destination: str, source: str) -> Address:
    return Address(DICOM_DEIDENTIFY, dicom_deidentify_name(destination, source))


def split_dataset_name(name: str) -> tuple[str, str, str]:
    """(project, location, dataset id) of `projects/{p}/locations/{l}/datasets/{d}[/...]`."""
    parts = name.split("/")
    if (
        len(parts) < 6
        or parts[0] != "projects"
        or parts[2] != "locations"
        or parts[4] != "datasets"
    ):
        raise ValueError(f"not a Healthcare dataset name: {name!r}")
    return parts[1], parts[3], parts[5]


# ----- Cloud KMS and audit logs


def key_ring_name(project_id: str, location: str, ring_id: str) -> str:
    return f"{location_name(project_id, location)}/keyRings/{ring_id}"


def key_ring(project_id: str, location: str, ring_id: str) -> Address:
    return Address(KEY_RING, key_ring_name(project_id, location, ring_id))


def crypto_key_name(ring: str, key_id: str) -> str:
    """`ring` is the key ring's full name."""
    return f"{ring}/cryptoKeys/{key_id}"


def crypto_key(ring: str, key_id: str) -> Address:
    return Address(CRYPTO_KEY, crypto_key_name(ring, key_id))


def crypto_key_iam(key: str) -> Address:
    """`key` is the crypto key's full name."""
    return Address(CRYPTO_KEY_IAM, key)


def ring_of_key(key: str) -> str:
    """The key ring's full name of a crypto key's full name."""
    return key.rsplit("/cryptoKeys/", 1)[0]


def project_audit(project_id: str) -> Address:
    """The audit configs (`auditConfigs`) of the project's IAM policy."""
    return Address(PROJECT_AUDIT, project_name(project_id))
