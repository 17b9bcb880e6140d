"""Kind `healthcare.dataset_iam` (`projects/{p}/locations/{l}/datasets/{d}`): dataset IAM.

spec = {"bindings": [{"role", "members", "authoritative"?}, ...]}; additive per member unless a
binding is authoritative (see `iam`).
"""

from __future__ import annotations

from provision.gcp.methods import DATASETS
from provision.resources import addresses
from provision.resources.base import Needs
from provision.resources.healthcare_iam import HealthcareIamKind
from provision.resources.registry import register


@register
class DatasetIamKind(HealthcareIamKind):
    name = addresses.DATASET_IAM
    parent_kind = addresses.DATASET
    needs = Needs(
        "roles/healthcare.datasetAdmin",
        ("healthcare.datasets.getIamPolicy", "healthcare.datasets.setIamPolicy"),
    )
    collection = DATASETS
    set_method = f"{DATASETS}.setIamPolicy"
    iam_admin_roles = frozenset(
        {"roles/healthcare.datasetAdmin", "roles/healthcare.admin", "roles/owner"}
    )
