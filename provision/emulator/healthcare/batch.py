"""Cloud Healthcare's batch endpoint (`POST /batch`); the wire format is `core.batch`'s.

Google's discovery document for healthcare v1 declares it (`batchPath: "batch"`, so the client
libraries build batches for it), but the Healthcare guides say nothing of batching: whether
Google serves it, and how many calls it takes, are not known. The setting `healthcare_batch`
turns it off (the path then answers 404, as an unserved one does), so the tool's fallback to
one call at a time can be exercised. The limit is that of Google's general batching guides
(1,000 calls); the tool sends at most 100 (`provision.gcp.api.BATCH_LIMIT`).
"""

from __future__ import annotations

from provision.emulator.core.batch import Endpoint

ENDPOINT = Endpoint(
    path="/batch",
    api="healthcare",
    prefix="/v1/",
    dialect="esf",
    max_calls=1000,
    title="Cloud Healthcare API",
    setting="healthcare_batch",
)
