"""The committed coverage page matches the emulator's routes (regenerate it when they change)."""

from __future__ import annotations

from pathlib import Path

from provision.emulator.coverage import render_page, sample_path

PAGE = Path(__file__).resolve().parents[2] / "docs" / "emulator-coverage.md"


def test_sample_paths_fill_every_parameter() -> None:
    assert sample_path("/v1/{v1Id}/{v1Id1}/services/{servicesId}:enable") == (
        "/v1/projects/x1/services/x2:enable"
    )
    assert sample_path("/v3/{+name}") == "/v3/x1"


def test_coverage_page_is_current() -> None:
    assert PAGE.read_text(encoding="utf-8") == render_page(), (
        "docs/emulator-coverage.md is stale: run .venv/bin/python scripts/emulator_coverage.py"
    )


def test_page_counts_the_methods_this_emulator_serves() -> None:
    page = render_page()
    for row in (
        "| `projects.create` | POST | `/v3/projects` | yes |",
        "| `services.batchEnable` | POST | `/v1/{v1Id}/{v1Id1}/services:batchEnable` | yes |",
        "| `projects.getBillingInfo` | GET | `/v1/projects/{projectsId}/billingInfo` | yes |",
        "| `folders.create` | POST | `/v3/folders` | — |",
        "| `projects.get` | GET | `/v1/projects/{projectId}` | yes |",
        "| `operations.get` | GET | `/v1/operations/{operationsId}` | yes |",
        "| `objects.testIamPermissions` | GET "
        "| `/storage/v1/b/{bucket}/o/{object}/iam/testPermissions` | yes |",
        # routed to a 501 of its own, and no longer counted as objects.get's
        "| `objectAccessControls.list` | GET | `/storage/v1/b/{bucket}/o/{object}/acl` | — |",
        "| `objects.getIamPolicy` | GET | `/storage/v1/b/{bucket}/o/{object}/iam` | — |",
        "| `projects.locations.keyRings.cryptoKeys.setIamPolicy` | POST | `/v1/projects/"
        "{projectsId}/locations/{locationsId}/keyRings/{keyRingsId}/cryptoKeys/{cryptoKeysId}"
        ":setIamPolicy` | yes |",
        "| `projects.topics.create` | PUT | `/v1/projects/{projectsId}/topics/{topicsId}` | yes |",
        "| `datasets.patch` | PATCH | `/bigquery/v2/projects/{projectsId}/datasets/{datasetsId}`"
        " | yes |",
    ):
        assert row in page


def test_page_names_the_batch_endpoints_this_emulator_answers() -> None:
    summary = {
        line.split("]")[0].removeprefix("| ["): line.rsplit("|", 2)[1].strip()
        for line in render_page().splitlines()
        if line.startswith("| [")
    }
    assert summary["Cloud Storage JSON"] == "`/batch/storage/v1`: yes"
    assert summary["Cloud Healthcare"] == "`/batch`: yes (*unverified*; setting `healthcare_batch`)"
    assert summary["Cloud Pub/Sub"] == "`/batch`: —"
    assert "## Cloud Resource Manager v1 (" in render_page()
