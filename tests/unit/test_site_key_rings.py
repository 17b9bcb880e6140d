"""A site template may declare Cloud KMS key rings: each site gets its own ring (and keys) in its
location, e.g. for its datasets' customer-managed keys; the same ring from two sites is an error."""

from __future__ import annotations

from pathlib import Path

from provision.blueprint.expand import expand
from provision.blueprint.loader import load
from provision.errors import BlueprintError

BLUEPRINT = """\
version: 1
project:
  id: kr-test-4821
services: [healthcare.googleapis.com]
sites:
  include: sites/*.yaml
  defaultLocation: us-central1
  template:
    keyRings:
      - id: "RING"
        location: "{location}"
        cryptoKeys:
          - id: archive
    datasets:
      - id: "{site}-archive"
        location: "{location}"
        encryptionSpec:
          kmsKeyName: "projects/{project}/locations/{location}/keyRings/RING/cryptoKeys/archive"
"""


def write(tmp_path: Path, ring: str, south: str) -> Path:
    (tmp_path / "sites").mkdir()
    (tmp_path / "sites/north.yaml").write_text("name: north\n", encoding="utf-8")
    (tmp_path / "sites/south.yaml").write_text(south, encoding="utf-8")
    path = tmp_path / "blueprint.yaml"
    path.write_text(BLUEPRINT.replace("RING", ring), encoding="utf-8")
    return path


def test_each_site_gets_its_key_ring_in_its_location(tmp_path: Path) -> None:
    loaded = load(write(tmp_path, "{site}-keys", "name: south\nlocation: europe-west4\n"))
    rings = {(r.id, r.location) for r in loaded.blueprint.key_rings}
    assert rings == {("north-keys", "us-central1"), ("south-keys", "europe-west4")}
    keys = {str(r.address) for r in expand(loaded) if r.address.kind == "kms.crypto_key"}
    assert keys == {
        f"kms.crypto_key:projects/kr-test-4821/locations/{where}/cryptoKeys/archive"
        for where in ("us-central1/keyRings/north-keys", "europe-west4/keyRings/south-keys")
    }


def test_the_same_ring_from_two_sites_names_the_site_and_the_template_line(
    tmp_path: Path,
) -> None:
    try:
        load(write(tmp_path, "imaging", "name: south\n"))
    except BlueprintError as error:
        text = str(error)
    else:
        raise AssertionError("the duplicate key ring was accepted")
    assert "key ring 'imaging' in us-central1 is declared twice" in text
    assert "expanded for site 'south' from sites.template.keyRings[0].id" in text
