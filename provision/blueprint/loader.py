"""Load a blueprint file into a validated `Blueprint`.

Contract (stable; the planner depends on it): `load(path)` returns a `LoadedBlueprint` or raises
`BlueprintError` carrying every problem found.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError

from provision.blueprint.schema import Blueprint
from provision.errors import BlueprintError, Diagnostic
from provision.model import SourceRef


@dataclass(frozen=True)
class LoadedBlueprint:
    path: Path
    blueprint: Blueprint
    """The blueprint with its sites expanded into datasets, buckets, imports and grants."""
    digest: str
    """sha256 over the blueprint file and every included file, in order."""
    files: tuple[Path, ...] = ()
    warnings: tuple[Diagnostic, ...] = ()
    _locations: dict[str, SourceRef] = field(default_factory=dict, repr=False)

    def locate(self, field_path: str) -> SourceRef:
        """Where `field_path` (e.g. `datasets[0].dicomStores[1]`) was declared."""
        return self._locations.get(field_path, SourceRef(str(self.path)))


def load(path: str | Path) -> LoadedBlueprint:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise BlueprintError([Diagnostic(str(path), None, None, "", str(error))]) from None
    try:
        data = yaml.safe_load(text)
        blueprint = Blueprint.model_validate(data)
    except (yaml.YAMLError, ValidationError) as error:
        raise BlueprintError([Diagnostic(str(path), None, None, "", str(error))]) from None
    digest = hashlib.sha256(text.encode()).hexdigest()
    return LoadedBlueprint(path=path, blueprint=blueprint, digest=digest, files=(path,))
