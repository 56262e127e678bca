"""The package order of docs/architecture.md holds: the import-linter contract in pyproject.toml
passes with no exception listed, every package is in it, no module-level import circle exists,
and the page shows the contract's order."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import grimp
import pytest
from importlinter import cli as importlinter_cli

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: import-linter's own TOML reader
    import tomli as tomllib  # type: ignore[no-redef]

import brewslm

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(brewslm.__file__).resolve().parent


def _contract() -> dict:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    (contract,) = config["contracts"]
    return contract


def test_the_layers_contract_is_kept_with_no_exceptions(capsys: pytest.CaptureFixture[str]) -> None:
    contract = _contract()
    assert contract["type"] == "layers"
    assert not contract.get("ignore_imports") and not contract.get("unmatched_ignore_imports_alerting")
    code = importlinter_cli.lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    assert code == 0, capsys.readouterr().out  # the report names each wrong-way import chain


def test_every_package_and_top_level_module_has_a_layer() -> None:
    layered = {name.strip() for layer in _contract()["layers"] for name in layer.split("|")}
    present = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    present |= {p.stem for p in PACKAGE.glob("*.py") if p.stem not in ("__init__", "__main__")}
    assert present - layered == set(), "give these a layer in pyproject.toml and docs/architecture.md"
    assert layered - present == set(), "these layers name no module"


def test_no_module_level_import_circle() -> None:
    """Circles hide in function-level imports too: grimp sees those; type-checking imports are left out."""
    graph = grimp.build_graph("brewslm", cache_dir=None, exclude_type_checking_imports=True)
    circles = _strongly_connected(graph)
    assert circles == [], circles


def test_the_architecture_page_shows_the_contract_order() -> None:
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- layers:[^>]*-->\s*```text\n(.*?)```", page, re.S)
    assert block is not None, "docs/architecture.md lost its layers block"
    shown = [line.strip() for line in block.group(1).splitlines() if line.strip()]
    assert shown == [layer.strip() for layer in _contract()["layers"]]


def _strongly_connected(graph: grimp.ImportGraph) -> list[list[str]]:
    """Tarjan's algorithm over the module graph; the components with more than one module."""
    edges = {module: sorted(graph.find_modules_directly_imported_by(module)) for module in sorted(graph.modules)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in edges.get(module, ()):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(edges)))
    try:
        for module in edges:
            if module not in index:
                visit(module)
    finally:
        sys.setrecursionlimit(limit)
    return found
