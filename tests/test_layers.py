"""The package's imports follow the layers the README lists, and no module imports itself.

The README's "Layers" block is the plan; this test reads it and every module of the package (with
``ast``, imports inside functions included, type-only imports under ``TYPE_CHECKING`` left out),
so the plan a newcomer reads stays true.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "data_exchange_tool"
NAME = "data_exchange_tool"


def readme_layers() -> list[list[str]]:
    """Return the README's layers, top first, each a list of dotted names under the package."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"### Layers\n.*?```\n(.*?)```", text, re.S)
    assert block, "the README has no Layers block"
    return [
        [f"{NAME}.{name.strip()}" for name in line.split("·")]
        for line in block.group(1).strip().splitlines()
    ]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    return {
        module_name(path): path for path in PACKAGE.rglob("*.py") if "migrations" not in path.parts
    }


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """Return the ids of nodes inside ``if TYPE_CHECKING:`` blocks."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    return skipped


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Return the package modules ``name`` imports at run time (anywhere in the file)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_nodes(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in known else base)
    return {module for module in found if module in known and module != name}


def layer_of(module: str, layers: list[list[str]]) -> int:
    """Return the index of the layer whose entry is the longest prefix of ``module``."""
    best, best_length = None, -1
    for index, entries in enumerate(layers):
        for entry in entries:
            if (module == entry or module.startswith(entry + ".")) and len(entry) > best_length:
                best, best_length = index, len(entry)
    assert best is not None, f"{module} is in no layer of the README"
    return best


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = package_modules()
    known = set(modules)
    return {name: imports_of(name, path, known) for name, path in modules.items()}


def test_every_import_runs_down_the_readme_layers(graph):
    layers = readme_layers()
    upward = [
        f"{source} (layer {layer_of(source, layers) + 1}) imports {target} "
        f"(layer {layer_of(target, layers) + 1})"
        for source, targets in graph.items()
        if source != NAME
        for target in targets
        if target != NAME and layer_of(target, layers) < layer_of(source, layers)
    ]
    assert upward == []


def test_no_module_imports_itself_through_others(graph):
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_the_check_sees_imports_inside_functions(tmp_path):
    source = tmp_path / "data_exchange_tool" / "models"
    source.mkdir(parents=True)
    (source / "jobs.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from data_exchange_tool import actions\n"
        "def save():\n    from data_exchange_tool import tasks\n"
    )
    known = {f"{NAME}.tasks", f"{NAME}.actions", f"{NAME}.models.jobs"}
    found = imports_of(f"{NAME}.models.jobs", source / "jobs.py", known)
    assert found == {f"{NAME}.tasks"}
