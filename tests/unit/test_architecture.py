"""The package's layers, read from its source: no import cycle inside `provision/`, and every
import in the documented direction (docs/architecture.md).

Imports counted: every `import` / `from ... import` that runs, at module level or inside a
function (an import in a function body is a dependency all the same, only a later one); imports
under `if TYPE_CHECKING:` are excluded, since they never run. Ruff's banned-api rules
(pyproject.toml) say the same where they can (who may import Google client libraries, the
emulator); this test also says what ruff cannot: layers and cycles.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from provision.resources import addresses

PACKAGE = Path(__file__).resolve().parents[2] / "provision"

LAYERS: Mapping[str, tuple[str, ...]] = {
    "cli": ("provision.cli",),
    "workflows": ("provision.workflows", "provision.viewer"),
    "outputs": ("provision.outputs",),
    "engine": (
        "provision.plan",
        "provision.apply",
        "provision.destroy",
        "provision.verify",
        "provision.permissions",
        "provision.saved_plan",
        "provision.planfile",
        "provision.site_scope",
        "provision.onboard",
    ),
    "blueprint": ("provision.blueprint",),
    "resources": ("provision.resources", "provision.lease"),
    "gcp": ("provision.gcp",),
    "base": (
        "provision.model",
        "provision.errors",
        "provision.files",
        "provision.graph",
        "provision.collector",
        "provision.blueprint.rules",
        "provision",
    ),
    "emulator": ("provision.emulator",),
}
"""Each module's layer: the longest prefix that names it. `viewer` is the `provision viewer`
command as a library (the OHIF build, its web server, the session serving a blueprint's config),
a workflow like the others. `base` holds the values and pure helpers every layer uses (the
model, the error tree, file handling, the graph runner, Google's naming rules)."""

MAY_IMPORT: Mapping[str, frozenset[str]] = {
    "cli": frozenset({"workflows", "outputs", "blueprint", "base"}),
    "workflows": frozenset({"outputs", "engine", "blueprint", "resources", "base"}),
    "outputs": frozenset({"blueprint", "base"}),
    "engine": frozenset({"blueprint", "resources", "base"}),
    "blueprint": frozenset({"resources", "base"}),
    "resources": frozenset({"gcp", "base"}),
    "gcp": frozenset({"base"}),
    "base": frozenset(),
    "emulator": frozenset(),
}
"""The layers each layer may import besides its own: `cli -> workflows -> plan/apply ->
resources -> model`, gcp/ only behind resources/, outputs/ only renders (blueprints and plans),
the emulator stands apart."""

ALSO_ALLOWED: Mapping[str, frozenset[str]] = {
    "provision.cli.target": frozenset({"gcp", "emulator"}),
    "provision.cli.emulator_cmd": frozenset({"emulator"}),
    "provision.outputs.plan_json": frozenset({"provision.planfile"}),
    "provision.outputs.plan_text": frozenset({"provision.resources.symbols"}),
    "provision.outputs.stores": frozenset({"provision.resources.addresses"}),
    "provision.outputs.plan_markdown": frozenset({"provision.resources.symbols"}),
}
"""Single modules with one more dependency (a layer, or one module): the CLI builds the Google
gateway and starts the emulator; the JSON plan is the plan file's document; plan text shows
symbols (`(number of P, known after apply)`) as the resources layer words them."""


@dataclass(frozen=True)
class Import:
    module: str
    target: str
    line: int


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _type_checking_only(tree: ast.Module) -> set[int]:
    """ids of the nodes under `if TYPE_CHECKING:`."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skipped |= {id(sub) for sub in ast.walk(child)}
    return skipped


def _named(module: str, path: Path, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    """The full names an import statement may refer to (a module, or a name in one)."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:
        package = module.split(".")
        if path.name != "__init__.py":
            package.pop()
        package = package[: len(package) - node.level + 1]
        base = ".".join([*package, base] if base else package)
    for alias in node.names:
        yield f"{base}.{alias.name}"
    yield base


@cache
def imports() -> tuple[Import, ...]:
    """Every runtime import of one `provision` module by another."""
    known = modules()
    found = []
    for module, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = _type_checking_only(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom) or id(node) in skipped:
                continue
            for name in _named(module, path, node):
                target = _module_of(name, known)
                if target is not None:
                    if target != module:
                        found.append(Import(module, target, node.lineno))
                    break
    return tuple(found)


def _module_of(name: str, known: Mapping[str, Path]) -> str | None:
    """The module `name` is or is in; None outside `provision`."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def layer_of(module: str) -> str:
    best = max(
        (
            (prefix, layer)
            for layer, prefixes in LAYERS.items()
            for prefix in prefixes
            if module == prefix or module.startswith(prefix + ".")
        ),
        key=lambda pair: len(pair[0]),
    )
    return best[1]


def cycles(edges: Mapping[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_import_reader_sees_imports_inside_functions_and_skips_type_checking() -> None:
    found = {(i.module, i.target) for i in imports()}
    # inside a function body: the CLI's target starts the emulator only when asked
    assert ("provision.cli.target", "provision.emulator.server") in found
    # under TYPE_CHECKING only: the applier names the progress type of gcp/ in annotations
    assert ("provision.apply", "provision.gcp.operations") not in found


def test_no_import_cycle_inside_the_package() -> None:
    edges: dict[str, set[str]] = {}
    for found in imports():
        edges.setdefault(found.module, set()).add(found.target)
    assert [sorted(c) for c in cycles(edges)] == []


def test_every_import_goes_in_the_documented_direction() -> None:
    wrong = []
    for found in imports():
        source, target = layer_of(found.module), layer_of(found.target)
        if source == target or target in MAY_IMPORT[source]:
            continue
        extra = ALSO_ALLOWED.get(found.module, frozenset())
        if target in extra or found.target in extra:
            continue
        wrong.append(f"{found.module}:{found.line} ({source}) imports {found.target} ({target})")
    assert wrong == [], "\n".join(wrong)


def test_every_module_has_a_layer() -> None:
    for module in modules():
        assert layer_of(module) in MAY_IMPORT, module


KIND_CONSTANTS = frozenset(
    name for name, value in vars(addresses).items() if name.isupper() and isinstance(value, str)
)
"""The kind names `resources/addresses.py` declares (`DICOM_STORE = "healthcare.dicom_store"`)."""


def _names_a_kind(node: ast.expr, kinds: frozenset[str]) -> bool:
    """Whether an operand of a comparison names a kind: `addresses.DICOM_STORE`, a kind-name
    string (those with a `.` or `_`: "project" is also a word of blueprints and Google), or a
    tuple, list or set of those."""
    if isinstance(node, ast.Attribute):
        return node.attr in KIND_CONSTANTS
    if isinstance(node, ast.Constant):
        return node.value in kinds
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(_names_a_kind(element, kinds) for element in node.elts)
    return False


def test_no_kind_name_switch_outside_the_resources_layer() -> None:
    """Only a kind's own module (resources/) decides by kind; ordering and orchestration code
    asks the kind instead (docs/architecture.md, "Where a new kind goes")."""
    every = (getattr(addresses, name) for name in KIND_CONSTANTS)
    kinds = frozenset(kind for kind in every if "." in kind or "_" in kind)
    wrong = []
    for module, path in modules().items():
        if layer_of(module) in {"resources", "emulator"}:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Compare) and any(
                _names_a_kind(operand, kinds) for operand in (node.left, *node.comparators)
            ):
                wrong.append(f"{module}:{node.lineno}: {ast.unparse(node)}")
    assert wrong == [], "\n".join(wrong)
