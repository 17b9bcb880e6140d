"""Whatever the input, `load` either succeeds or raises `BlueprintError` -- nothing else."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from provision.blueprint import schema
from provision.blueprint.loader import LoadedBlueprint, load
from provision.errors import BlueprintError

REPO = Path(__file__).resolve().parents[3]
DEV = (REPO / "blueprints/dev.yaml").read_text(encoding="utf-8")

KEYS = sorted(
    {
        info.alias or name
        for model in vars(schema).values()
        if isinstance(model, type) and issubclass(model, BaseModel)
        for name, info in model.model_fields.items()
    }
)
STRINGS = [
    "imaging-dev-4821",
    "us-central1",
    "healthcare.googleapis.com",
    "roles/healthcare.dicomViewer",
    "user:a@example.com",
    "gs://imaging-dev-4821-dicom-import/**.dcm",
    "imaging-dev/dicom-main",
    "{site}",
    "{unknown}",
    "{ bad }",
    "sites/*.yaml",
    "",
]

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _load_text(content: bytes, site: bytes | None = None) -> LoadedBlueprint | BlueprintError:
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        (root / "bp.yaml").write_bytes(content)
        if site is not None:
            (root / "sites").mkdir()
            (root / "sites" / "s.yaml").write_bytes(site)
        try:
            return load(root / "bp.yaml")
        except BlueprintError as error:
            for diagnostic in error.diagnostics:
                assert diagnostic.message
                assert diagnostic.line is None or diagnostic.line >= 1
                assert diagnostic.column is None or diagnostic.column >= 1
            return error


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.sampled_from(STRINGS),
    st.text(max_size=12),
)
keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=6), st.integers(), st.booleans())
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=6)
    ),
    max_leaves=40,
)


@FUZZ
@given(st.text(max_size=300))
def test_random_text(text: str) -> None:
    _load_text(text.encode("utf-8", errors="surrogatepass"))


@FUZZ
@given(st.binary(max_size=300), st.one_of(st.none(), st.binary(max_size=100)))
def test_random_bytes(data: bytes, site: bytes | None) -> None:
    _load_text(data)
    _load_text(
        b"project: {id: imaging-test-1}\nsites: {include: sites/*.yaml, template: {}}\n", site
    )


@FUZZ
@given(documents, st.one_of(st.none(), documents))
def test_random_structures(document: Any, site: Any) -> None:
    main: dict[str, Any] = {"project": {"id": "imaging-test-1"}}
    if isinstance(document, dict):
        main.update(document)
    else:
        main["datasets"] = document
    main["sites"] = {"include": "sites/*.yaml", "template": site if site is not None else {}}
    site_file = yaml.safe_dump({"name": "one", "vars": document if site is None else {}})
    _load_text(yaml.safe_dump(main).encode(), site_file.encode())


@FUZZ
@given(st.data())
def test_mutated_dev_blueprint(data: st.DataObject) -> None:
    lines = DEV.splitlines(keepends=True)
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["drop", "dup", "indent", "dedent", "replace"]))
        if action == "drop":
            del lines[index]
        elif action == "dup":
            lines.insert(index, lines[index])
        elif action == "indent":
            lines[index] = "  " + lines[index]
        elif action == "dedent":
            lines[index] = lines[index][2:]
        else:
            word = data.draw(st.sampled_from([*STRINGS, "[", "{", "- ", ": ", "*a", "&a "]))
            cut = data.draw(st.integers(0, len(lines[index])))
            lines[index] = lines[index][:cut] + word + lines[index][cut:]
        if not lines:
            break
    _load_text("".join(lines).encode())
