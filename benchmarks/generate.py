"""Synthetic blueprints: one project and N sites, each stamped out by the sites template.

Each site gets a Healthcare dataset with a DICOM store, an import bucket, IAM on all three and a
Cloud Healthcare Service Agent grant on its bucket (in the bucket's IAM policy): six objects per
site, four levels deep under the project. A plan of an applied blueprint makes four requests per
site: the dataset and the bucket are answered by their location's and project's lists.
"""

from __future__ import annotations

from pathlib import Path

PROJECT = "bench-imaging"
BILLING = "billingAccounts/000000-AAAAAA-000000"

BLUEPRINT = f"""\
version: 1
project:
  id: {PROJECT}
  billingAccount: {BILLING}
services:
  - healthcare.googleapis.com
  - storage.googleapis.com
serviceAgents:
  - service: healthcare.googleapis.com
sites:
  include: sites/*.yaml
  defaultLocation: us-central1
  template:
    datasets:
      - id: "{{site}}-imaging"
        location: "{{location}}"
        timeZone: UTC
        iam:
          - role: roles/healthcare.datasetViewer
            members: ["group:{{site}}-admins@example.com"]
        dicomStores:
          - id: "{{site}}-dicom"
            labels:
              site: "{{site}}"
            iam:
              - role: roles/healthcare.dicomViewer
                members: ["group:{{site}}-radiology@example.com"]
    buckets:
      - name: "{{project}}-{{site}}-import"
        location: "{{location}}"
        uniformBucketLevelAccess: true
        labels:
          site: "{{site}}"
        iam:
          - role: roles/storage.objectCreator
            members: ["group:{{site}}-uploaders@example.com"]
    serviceAgentGrants:
      - role: roles/storage.objectViewer
        bucket: "{{project}}-{{site}}-import"
"""


def site_name(index: int) -> str:
    return f"site{index:04d}"


def write_blueprint(directory: Path, sites: int) -> Path:
    """Write `blueprint.yaml` and `sites/siteNNNN.yaml` (N = `sites`) under `directory`."""
    if sites < 1:
        raise ValueError("at least one site")
    directory.mkdir(parents=True, exist_ok=True)
    site_dir = directory / "sites"
    site_dir.mkdir(exist_ok=True)
    for index in range(sites):
        name = site_name(index)
        (site_dir / f"{name}.yaml").write_text(f"name: {name}\n", encoding="utf-8")
    path = directory / "blueprint.yaml"
    path.write_text(BLUEPRINT, encoding="utf-8")
    return path
