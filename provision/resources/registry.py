"""Which kinds exist: every kind module is listed below (docs/architecture.md says what else a
new kind touches).

`get(kind_name)` returns the singleton instance; modules are imported on first use so that the
CLI's `--help` stays fast.
"""

from __future__ import annotations

import importlib
import threading
from typing import TypeVar

from provision.resources.base import Kind

BUILTIN_MODULES: tuple[str, ...] = (
    "provision.resources.project",
    "provision.resources.billing",
    "provision.resources.services",
    "provision.resources.project_iam",
    "provision.resources.custom_role",
    "provision.resources.healthcare_location",
    "provision.resources.healthcare_dataset",
    "provision.resources.dataset_iam",
    "provision.resources.dicom_store",
    "provision.resources.dicom_store_iam",
    "provision.resources.storage_project",
    "provision.resources.bucket",
    "provision.resources.bucket_iam",
    "provision.resources.service_agent",
    "provision.resources.pubsub_topic",
    "provision.resources.topic_iam",
    "provision.resources.bigquery_dataset",
    "provision.resources.bigquery_dataset_iam",
    "provision.resources.dicom_import",
    "provision.resources.dicom_deidentify",
    "provision.resources.kms_key_ring",
    "provision.resources.kms_crypto_key",
    "provision.resources.kms_crypto_key_iam",
    "provision.resources.project_audit",
)
"""Every kind module, in no particular order (apply order comes from dependencies)."""

K = TypeVar("K", bound=type[Kind])

_kinds: dict[str, Kind] = {}
_state = {"loaded": False}
_lock = threading.Lock()


def register(cls: K) -> K:
    """Class decorator: make `cls` (a Kind subclass) available under `cls.name`."""
    name = cls.name
    if name in _kinds and type(_kinds[name]) is not cls:
        raise ValueError(f"kind {name!r} registered twice")
    _kinds[name] = cls()
    return cls


def _load() -> None:
    if _state["loaded"]:  # set only once every module is imported; read without the lock
        return
    with _lock:
        if _state["loaded"]:
            return
        for module in BUILTIN_MODULES:
            importlib.import_module(module)
        _state["loaded"] = True


def get(name: str) -> Kind:
    """The kind called `name`; KeyError names the known kinds."""
    _load()
    try:
        return _kinds[name]
    except KeyError:
        raise KeyError(
            f"unknown resource kind {name!r} (known: {', '.join(sorted(_kinds))})"
        ) from None


def names() -> list[str]:
    _load()
    return sorted(_kinds)
