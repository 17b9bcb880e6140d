"""Upload synthetic DICOM files to a bucket with google-cloud-storage (for `make demo`).

Usage: python scripts/upload_samples.py ENDPOINT PROJECT BUCKET PREFIX [COUNT]

ENDPOINT is the emulator's base URL (as STORAGE_EMULATOR_HOST would be); objects land under
PREFIX (e.g. `dicom/` for an import URI `gs://BUCKET/dicom/**.dcm`).
"""

from __future__ import annotations

import sys

from google.auth.credentials import AnonymousCredentials
from google.cloud.storage import Client

from provision.emulator import samples


def main(argv: list[str]) -> int:
    if len(argv) not in (4, 5):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    endpoint, project, bucket_name, prefix = argv[:4]
    count = int(argv[4]) if len(argv) == 5 else 4
    client = Client(
        project=project,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": endpoint},
    )
    bucket = client.bucket(bucket_name)
    for sample in samples.generate(count, seed=len(bucket_name), studies=2):
        name = prefix.rstrip("/") + "/" + sample.path
        bucket.blob(name).upload_from_string(sample.data, content_type="application/dicom")
    print(f"uploaded {count} DICOM files to gs://{bucket_name}/{prefix.rstrip('/')}/")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
