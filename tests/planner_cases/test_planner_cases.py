"""Data-driven cases per kind, pure (no API call): one file per registered kind,
`cases/<kind>.yaml`, with three lists of cases (every kind has at least one of each):

  kind: <the kind's name>
  diff:          desired spec + observed state -> the planned change
    - name, address, spec, observed {exists, fields, etag}, options {...},
      expect {action, diffs [{path, before, after}], reason (substring), error (substring),
              policy (IAM: the merged policy that would be written)}
  removal:       what `provision destroy` does with an existing object (`Kind.plan_removal`)
    - name, address, spec, depends_on [addresses], state (what `removal_read` answered),
      scope {named: bool, disable_services: bool, decided: {address: action}}, options,
      facts {key: value}, expect {action (`none`: nothing to remove), reason (substring),
      diffs, before (keys it records)}
      or expect {removable: false} for kinds destroy leaves alone
  permissions:   where `validate --check-permissions` tests what managing the object needs
    - name, address, spec, declared [{address, spec}] (the objects around it), exists
      [addresses], expect {tested_on (the resource tested; null: nowhere), permissions, why
      (substring; "" for none), role (substring)}
      or expect {needs: null} for kinds nothing is checked for

Addresses in `depends_on`, `decided`, `declared` and `exists` are written `kind:name`.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

from provision.errors import ProvisionError
from provision.gcp.api import GoogleApi
from provision.model import Action, Address, Change, Observed, Resource
from provision.permissions import place
from provision.resources import registry
from provision.resources.base import Context, Kind, Options, RemovalScope
from provision.resources.iam import wanted_bindings
from provision.resources.iam_policy import merge
from provision.resources.registry import BUILTIN_MODULES
from provision.resources.symbols import Facts
from provision.saved_plan import decision

CASE_DIR = Path(__file__).parent / "cases"
SECTIONS = ("diff", "removal", "permissions")


def case_files() -> dict[str, dict[str, Any]]:
    """Each case file's content, by the kind it names."""
    files = {}
    for path in sorted(CASE_DIR.glob("*.yaml")):
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert path.stem == content["kind"], f"{path.name} holds the cases of {content['kind']}"
        files[content["kind"]] = content
    return files


def load_cases(section: str) -> list[Any]:
    return [
        pytest.param(kind, case, id=f"{kind}: {case['name']}")
        for kind, content in case_files().items()
        for case in content.get(section) or []
    ]


def options_of(data: dict[str, Any]) -> Options:
    return Options(
        allow_delete=frozenset(data.get("allow_delete", [])),
        allow_disable_services=frozenset(data.get("allow_disable_services", [])),
        allow_remove_own_access=bool(data.get("allow_remove_own_access", False)),
        caller=data.get("caller"),
        reimport=bool(data.get("reimport", False)),
        rerun=bool(data.get("rerun", False)),
        reimport_only=frozenset(data.get("reimport_only", [])),
    )


def offline(case: dict[str, Any]) -> Context:
    """A context without an API: any request fails the case loudly."""
    facts = Facts(dict(case.get("facts") or {}))
    return Context(cast(GoogleApi, None), facts, options_of(case.get("options") or {}))


def resource_of(kind: str, case: dict[str, Any]) -> Resource:
    deps = tuple(Address.parse(a) for a in case.get("depends_on") or [])
    return Resource(Address(kind, case["address"]), case.get("spec") or {}, deps)


def test_every_kind_has_diff_removal_and_permission_cases() -> None:
    files = case_files()
    builtin = [n for n in registry.names() if type(registry.get(n)).__module__ in BUILTIN_MODULES]
    assert sorted(files) == builtin, "one case file per kind of `registry.BUILTIN_MODULES`"
    for kind, content in files.items():
        missing = [section for section in SECTIONS if not content.get(section)]
        assert not missing, f"cases/{kind}.yaml has no {', '.join(missing)} cases"


PERMISSION_PREFIXES = {
    "cloudresourcemanager": "resourcemanager.",
    "cloudbilling": "billing.",
    "serviceusage": "serviceusage.",
    "healthcare": "healthcare.",
    "storage": "storage.",
    "iam": "iam.",
    "cloudkms": "cloudkms.",
    "pubsub": "pubsub.",
    "bigquery": "bigquery.",
}
"""How the IAM permissions of each API the kinds call begin."""


def test_every_needed_permission_belongs_to_the_kinds_api() -> None:
    for name in registry.names():
        needs = registry.get(name).needs
        if needs is None:
            continue
        prefix = PERMISSION_PREFIXES[registry.get(name).api]
        assert needs.role.startswith("roles/"), name
        for permission in needs.existing + needs.create:
            assert permission.startswith(prefix), (name, permission)


@pytest.mark.parametrize(("kind_name", "case"), load_cases("diff"))
def test_diff_case(kind_name: str, case: dict[str, Any]) -> None:
    kind = registry.get(kind_name)
    resource = resource_of(kind_name, case)
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


@pytest.mark.parametrize(("kind_name", "case"), load_cases("removal"))
def test_removal_case(kind_name: str, case: dict[str, Any]) -> None:
    kind = registry.get(kind_name)
    expect = case["expect"]
    if "removable" in expect:
        assert kind.removable is expect["removable"]
        return
    assert kind.removable, f"destroy leaves {kind_name} alone; say `removable: false`"
    resource = resource_of(kind_name, case)
    scope_data = case.get("scope") or {}
    decided = {
        Address.parse(a): Change(Address.parse(a), Action(action))
        for a, action in (scope_data.get("decided") or {}).items()
    }
    named = frozenset({str(resource.address)} if scope_data.get("named") else ())
    scope = RemovalScope(named, bool(scope_data.get("disable_services")), decided)
    change = kind.plan_removal(offline(case), resource, dict(case["state"]), scope)
    if expect["action"] == "none":
        assert change is None
        return
    assert change is not None
    assert change.action.value == expect["action"]
    assert change.address == resource.address
    assert expect.get("reason", "") in change.reason
    if "diffs" in expect:
        assert [asdict(d) for d in change.diffs] == expect["diffs"]
    for key in expect.get("before") or []:
        assert key in (change.before or {}), key


@pytest.mark.parametrize(("kind_name", "case"), load_cases("permissions"))
def test_permission_case(kind_name: str, case: dict[str, Any]) -> None:
    kind = registry.get(kind_name)
    expect = case["expect"]
    if "needs" in expect:
        assert expect["needs"] is None and kind.needs is None
        return
    resource = resource_of(kind_name, case)
    declared = {resource.address: resource}
    for item in case.get("declared") or []:
        address = Address.parse(item["address"])
        declared[address] = Resource(address, item.get("spec") or {})
    existing = {Address.parse(a) for a in case.get("exists") or []}
    requirement = place(resource, declared, lambda address: address in existing)
    assert requirement is not None
    assert requirement.kind == kind_name
    assert requirement.target == resource.address.name
    assert requirement.resource == (expect["tested_on"] or "")
    assert list(requirement.permissions) == expect["permissions"]
    if expect.get("why", "") == "":
        assert requirement.why == ""
    else:
        assert expect["why"] in requirement.why
    assert expect.get("role", "") in requirement.role
    if requirement.resource:  # the kind that tests it there knows how to ask
        tester = type(registry.get(requirement.tested_by))
        assert tester.test_permissions is not Kind.test_permissions, requirement.tested_by
