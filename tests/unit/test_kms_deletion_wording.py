"""What provision says about deleting Cloud KMS key rings and keys matches Google's v1
discovery document: `keyRings.delete` and `cryptoKeys.delete` exist, each only once everything
under it was deleted, so "cannot be deleted" would be wrong; provision forgets them instead."""

from __future__ import annotations

import json
from pathlib import Path

from provision.emulator.core.discovery import documents_dir
from provision.resources.kms_key_ring import PERMANENT

REPO = Path(__file__).resolve().parents[2]


def test_google_deletes_key_rings_and_keys_once_empty_and_provision_says_so() -> None:
    document = json.loads((documents_dir() / "cloudkms.v1.json").read_text(encoding="utf-8"))
    rings = document["resources"]["projects"]["resources"]["locations"]["resources"]["keyRings"]
    ring_delete = rings["methods"]["delete"]["description"]
    key_delete = rings["resources"]["cryptoKeys"]["methods"]["delete"]["description"]
    assert "All child resources of the KeyRing must have been previously deleted" in ring_delete
    assert "All child CryptoKeyVersions must have been previously deleted" in key_delete
    assert "cannot be deleted" not in PERMANENT
    assert "only once all its keys" in PERMANENT
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "key rings are permanent" not in readme.lower()
    assert "Key rings and keys are permanent" not in readme
