"""The verify table (pure): one aligned row per check, short object names, a summary line."""

from __future__ import annotations

from provision.outputs.checks_text import render, short
from provision.resources.iam_policy import roles_held as holds
from provision.verify import Check

STORE = "projects/p/locations/us-central1/datasets/imaging/dicomStores/main"


def test_rows_are_aligned_and_named_shortly() -> None:
    text = render(
        [
            Check("DICOMweb answers", STORE, True, "2 studies, 6 instances"),
            Check("service agent reads bucket", "gs://b", False, "lacks objectViewer"),
        ]
    )
    lines = text.splitlines()
    assert lines[1].startswith("PASS  DICOMweb answers ")
    assert lines[2].startswith("FAIL  service agent reads bucket")
    assert "imaging/dicomStores/main" in lines[1] and "projects/p" not in lines[1]
    assert lines[1].index("2 studies") == lines[2].index("lacks")
    assert lines[-1] == "Verify failed: 1 of 2 checks failed."


def test_all_passing_says_so() -> None:
    assert render([Check("x", "y", True, "")]).endswith("Verify passed: 1 check.\n")
    assert short("gs://b") == "gs://b"


def test_conditional_bindings_do_not_count_and_members_are_case_blind() -> None:
    policy = {
        "bindings": [
            {"role": "roles/a", "members": ["user:Alice@example.com"]},
            {"role": "roles/b", "members": ["user:alice@example.com"], "condition": {"t": 1}},
        ]
    }
    assert holds(policy, "user:alice@example.com") == {"roles/a"}
