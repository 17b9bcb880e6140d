"""Data-driven planner cases: desired spec + observed state -> expected change (pure).

Each YAML file under `cases/` is a list of cases:
  name, kind, address, spec, observed {exists, fields, etag}, options {...},
  expect {action, diffs [{path, before, after}], reason (substring), error (substring),
          policy (IAM: the merged policy that would be written)}
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
import yaml

from provision.errors import ProvisionError
from provision.model import Address, Observed, Resource
from provision.resources import registry
from provision.resources.base import Options
from provision.resources.iam import wanted_bindings
from provision.resources.iam_policy import merge
from provision.saved_plan import decision

CASE_DIR = Path(__file__).parent / "cases"


def load_cases() -> list[Any]:
    params = []
    for path in sorted(CASE_DIR.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")):
            params.append(pytest.param(case, id=f"{path.stem}: {case['name']}"))
    return params


def options_of(data: dict[str, Any]) -> Options:
    return Options(
        allow_delete=frozenset(data.get("allow_delete", [])),
        allow_disable_services=frozenset(data.get("allow_disable_services", [])),
        allow_remove_own_access=bool(data.get("allow_remove_own_access", False)),
        caller=data.get("caller"),
        reimport=bool(data.get("reimport", False)),
    )


@pytest.mark.parametrize("case", load_cases())
def test_planner_case(case: dict[str, Any]) -> None:
    kind = registry.get(case["kind"])
    resource = Resource(Address(case["kind"], case["address"]), case["spec"])
    observed_data = case.get("observed") or {"exists": False}
    observed = Observed(
        exists=observed_data["exists"],
        fields=observed_data.get("fields") or {},
        etag=observed_data.get("etag"),
    )
    options = options_of(case.get("options") or {})
    expect = case["expect"]
    if "error" in expect:
        with pytest.raises(ProvisionError) as raised:
            kind.diff(resource, observed, options)
        assert expect["error"] in str(raised.value)
        return
    change = kind.diff(resource, observed, options)
    assert change.action.value == expect["action"]
    assert change.address == resource.address
    if "diffs" in expect:
        assert [asdict(d) for d in change.diffs] == expect["diffs"]
    if "reason" in expect:
        assert expect["reason"] in change.reason
    if "policy" in expect:
        result = merge(observed.fields, wanted_bindings(resource.spec))
        assert result.policy == expect["policy"]
    # Planning again against the same state makes the same decision (saved plans rely on it).
    assert decision(kind.diff(resource, observed, options)) == decision(change)


def test_every_case_file_is_used() -> None:
    assert {p.stem for p in CASE_DIR.glob("*.yaml")} >= {
        "project",
        "billing",
        "services",
        "project_iam",
        "healthcare_dataset",
        "healthcare_dicom_store",
        "healthcare_iam",
        "storage_bucket",
        "storage_bucket_iam",
        "service_agent",
        "scans",
        "healthcare_dicom_import",
    }
