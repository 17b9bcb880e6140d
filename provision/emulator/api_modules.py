"""The emulated APIs, in routing order. Each package exposes `routes() -> list[Route]`."""

from __future__ import annotations

from types import ModuleType

from provision.emulator.bigquery import routes as bigquery_routes
from provision.emulator.billing import routes as billing_routes
from provision.emulator.dicomweb import routes as dicomweb
from provision.emulator.healthcare import routes as healthcare
from provision.emulator.iam import routes as iam_routes
from provision.emulator.kms import routes as kms_routes
from provision.emulator.oauth import routes as oauth_routes
from provision.emulator.pubsub import routes as pubsub_routes
from provision.emulator.resourcemanager import routes as resourcemanager_routes
from provision.emulator.resourcemanager import v1 as resourcemanager_v1
from provision.emulator.serviceusage import routes as serviceusage_routes
from provision.emulator.storage import routes as storage

MODULES: list[ModuleType] = [
    resourcemanager_routes,
    resourcemanager_v1,  # before Service Usage: both have operations under /v1/operations/
    serviceusage_routes,
    billing_routes,
    iam_routes,
    dicomweb,
    healthcare,
    storage,
    kms_routes,
    pubsub_routes,
    bigquery_routes,
    oauth_routes,
]
