"""Helpers for blueprint tests: write YAML files and load them, collecting diagnostics."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from provision.blueprint.loader import LoadedBlueprint, load
from provision.errors import BlueprintError, Diagnostic

VALID = """\
project:
  id: imaging-test-1
services:
  - healthcare.googleapis.com
datasets:
  - id: imaging
    location: us-central1
    dicomStores:
      - id: studies
buckets:
  - name: imaging-test-1-import
serviceAgents:
  - service: healthcare.googleapis.com
imports:
  - dicomStore: imaging/studies
    uri: gs://imaging-test-1-import/**.dcm
"""


class Files:
    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path


@pytest.fixture
def files(tmp_path: Path) -> Files:
    return Files(tmp_path)


def problems(path: Path) -> list[Diagnostic]:
    """The diagnostics `load` raises for `path` (fails the test if it loads)."""
    with pytest.raises(BlueprintError) as caught:
        load(path)
    return caught.value.diagnostics


def errors(path: Path) -> list[Diagnostic]:
    return [d for d in problems(path) if d.severity == "error"]


def loads(path: Path) -> LoadedBlueprint:
    return load(path)
