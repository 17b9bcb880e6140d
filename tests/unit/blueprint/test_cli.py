"""`provision validate` and `provision schema`, run as the user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from provision.blueprint.docgen import DOCS, generated_files

REPO = Path(__file__).resolve().parents[3]


def provision(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provision.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )


def test_validate_dev_blueprint() -> None:
    result = provision("validate", "blueprints/dev.yaml")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: blueprints/dev.yaml (1 project, 3 services, 2 datasets,")
    assert "2 imports)" in result.stdout
    # The dev blueprint deliberately grants roles/healthcare.dicomViewer to a group.
    assert "warning: datasets[0].dicomStores[0].iam[0].members[0]" in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_reports_every_problem_and_fails() -> None:
    result = provision("validate", "blueprints/examples/broken.yaml")
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("blueprints/examples/broken.yaml:3:7: error: project.id: ")
    assert lines[1].startswith(
        "blueprints/examples/broken.yaml:11:9: error: datasets[0].dicomStores[0].lables: "
    )
    assert lines[2].startswith(
        "blueprints/examples/broken.yaml:14:17: error: imports[0].dicomStore"
    )
    assert lines[3] == "invalid: blueprints/examples/broken.yaml (3 problems)"


def test_validate_missing_file_without_traceback(tmp_path: Path) -> None:
    result = provision("validate", str(tmp_path / "nope.yaml"))
    assert result.returncode == 1
    assert "cannot read: No such file or directory" in result.stderr
    assert "Traceback" not in result.stderr


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if "$ref" in node else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def test_schema_is_json_schema_of_the_yaml_keys() -> None:
    result = provision("schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["required"] == ["project"]
    assert schema["additionalProperties"] is False
    definitions = schema["$defs"]
    for ref in _refs(schema):
        assert ref.startswith("#/$defs/") and ref.removeprefix("#/$defs/") in definitions
    assert "dicomStores" in definitions["Dataset"]["properties"]
    assert "billingAccount" in definitions["Project"]["properties"]
    # Every key used by the dev blueprint is known to the schema.
    dev = yaml.safe_load((REPO / "blueprints/dev.yaml").read_text())
    assert set(dev) <= set(schema["properties"])
    assert set(dev["project"]) <= set(definitions["Project"]["properties"])


def test_site_schema() -> None:
    result = provision("schema", "--site")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert set(schema["properties"]) == {"name", "location", "vars", "deletionProtection"}


def test_generated_docs_are_up_to_date() -> None:
    for name, content in generated_files().items():
        committed = (DOCS / name).read_text(encoding="utf-8")
        assert committed == content, (
            f"docs/{name} is out of date; run `python -m provision.blueprint.docgen`"
        )


ACKNOWLEDGING = """\
project:
  id: imaging-test-1
services: [healthcare.googleapis.com]
datasets:
  - id: imaging
    location: us-central1
    dicomStores:
      - id: studies
        iam:
          - role: roles/healthcare.dicomViewer
            members: [group:viewers@example.com]
acknowledge:
  - code: W006
    reason: the viewers group may export (DPO ticket 42)
"""


def test_validate_says_how_many_warnings_were_acknowledged(tmp_path: Path) -> None:
    blueprint = tmp_path / "bp.yaml"
    blueprint.write_text(ACKNOWLEDGING, encoding="utf-8")
    result = provision("validate", str(blueprint))
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith("; 1 acknowledged warning(s))")
    assert "warning:" not in result.stderr
    document = json.loads(provision("validate", str(blueprint), "--format", "json").stdout)
    assert document["acknowledged"] == 1 and document["warnings"] == []
