"""Kind `healthcare.dicom_store_iam` (`.../datasets/{d}/dicomStores/{s}`): DICOM store IAM.

spec = {"bindings": [{"role", "members", "authoritative"?}, ...]}; additive per member unless a
binding is authoritative (see `iam`).
"""

from __future__ import annotations

from provision.gcp.methods import DICOM_STORES
from provision.resources import addresses
from provision.resources.base import Needs
from provision.resources.healthcare_iam import HealthcareIamKind
from provision.resources.registry import register


@register
class DicomStoreIamKind(HealthcareIamKind):
    name = addresses.DICOM_STORE_IAM
    parent_kind = addresses.DICOM_STORE
    needs = Needs(
        "roles/healthcare.dicomStoreAdmin",
        ("healthcare.dicomStores.getIamPolicy", "healthcare.dicomStores.setIamPolicy"),
    )
    collection = DICOM_STORES
    set_method = f"{DICOM_STORES}.setIamPolicy"
    iam_admin_roles = frozenset(
        {
            "roles/healthcare.dicomStoreAdmin",
            "roles/healthcare.datasetAdmin",
            "roles/healthcare.admin",
            "roles/owner",
        }
    )
