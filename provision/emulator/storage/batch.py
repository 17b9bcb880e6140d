"""Cloud Storage's batch endpoint (`POST /batch/storage/v1`, storage/docs/batch); the wire format
is `core.batch`'s."""

from __future__ import annotations

from provision.emulator.core.batch import Endpoint

ENDPOINT = Endpoint(
    path="/batch/storage/v1",
    api="storage",
    prefix="/storage/v1/",
    dialect="storage",
    max_calls=100,  # storage/docs/batch: "You should not include more than 100 calls"
    title="Cloud Storage JSON API",
)
