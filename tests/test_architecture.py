"""The layout keeps its promises: sub-packages by layer, each importing only the layers its
``__init__`` docstring names ("May import: ..."), no import circles between modules, torch
and its kin only in ``training/``, nothing in ``scoring/`` that can reach torch, and
``docs/architecture.md`` stating the same rules. Every import counts, including those
inside functions and under ``TYPE_CHECKING``."""

import ast
import graphlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "pytext_psych"
HEAVY = {"torch", "transformers", "peft", "accelerate", "optimum"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module that ``path`` imports: package modules by dotted name (a ``from X import
    y`` that names a module counts as that module), others by their top-level name."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name if a.name.startswith("pytext_psych") else a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            if not target.startswith("pytext_psych"):
                found.add(target.split(".")[0])
                continue
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                found.add(candidate if candidate in MODULES else target)
    return found - {name}


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}
GRAPH = {name: imports(path) for name, path in MODULES.items()}
LAYERS = sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py") if p.parent.name != "resources")


def layer(module: str) -> str | None:
    """The sub-package a module belongs to (None for the entry points at the top)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def allowed(layer_name: str) -> set[str]:
    """The layers a sub-package's ``__init__`` docstring says it may import."""
    doc = ast.get_docstring(ast.parse((PACKAGE / layer_name / "__init__.py").read_text())) or ""
    found = re.search(r"May import: ([^.\n]*)", doc)
    assert found, f"{layer_name}/__init__.py: its docstring must say 'May import: ...'"
    return {w.strip() for w in found.group(1).split(",")} - {"nothing", ""}


def test_each_layer_imports_only_what_its_docstring_allows():
    upward = []
    for module, targets in GRAPH.items():
        own = layer(module)
        for target in targets:
            other = layer(target) if target.startswith("pytext_psych") else None
            if own and target.startswith("pytext_psych") and other != own and other not in allowed(own):
                upward.append(f"{module} -> {target}")
    assert not upward, upward


def test_the_layers_stack_without_a_circle():
    list(graphlib.TopologicalSorter({name: allowed(name) for name in LAYERS}).static_order())


def test_no_import_circle_between_modules():
    inside = {m: {t for t in targets if t in MODULES} for m, targets in GRAPH.items()}
    try:
        list(graphlib.TopologicalSorter(inside).static_order())
    except graphlib.CycleError as err:
        pytest.fail(f"import circle: {' -> '.join(err.args[1])}")


def test_torch_only_in_training():
    elsewhere = sorted(f"{m}: {sorted(t & HEAVY)}" for m, t in GRAPH.items() if t & HEAVY and layer(m) != "training")
    assert not elsewhere, elsewhere


def reachable(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for target in GRAPH.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


@pytest.mark.parametrize("module", sorted(m for m in MODULES if layer(m) == "scoring"))
def test_scoring_cannot_reach_torch(module):
    assert not reachable(module) & HEAVY


def test_the_import_graph_sees_imports_inside_functions():
    """A check that can fail: the graph reads the lazy imports that a top-level scan would miss."""
    assert "pytext_psych.pipeline" in GRAPH["pytext_psych.fit"]
    assert "torch" in reachable("pytext_psych.fit")


def test_architecture_doc_states_the_same_rules():
    doc = (ROOT / "docs" / "architecture.md").read_text()
    rows = dict(re.findall(r"^\| `(\w+)/` \| [^|]* \| ([^|]*) \|", doc, flags=re.M))
    assert set(rows) == set(LAYERS)
    for name, cell in rows.items():
        assert {w.strip(" `/") for w in cell.split(",")} - {"nothing", ""} == allowed(name), name
