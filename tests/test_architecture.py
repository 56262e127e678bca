"""The package order of docs/architecture.md holds: the import-linter contract in pyproject.toml
passes with no exception listed, every package is in it, no module-level import circle exists,
and the page shows the contract's order."""

from __future__ import annotations

import ast
import re
import subprocess
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


def _contracts() -> list[dict]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]["contracts"]


def _contract() -> dict:
    """The layers contract (the others forbid particular arrows inside it)."""
    (contract,) = [c for c in _contracts() if c["type"] == "layers"]
    return contract


def test_the_contracts_are_kept_with_no_exceptions(capsys: pytest.CaptureFixture[str]) -> None:
    for contract in _contracts():
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


# --- lazy imports ------------------------------------------------------------------------------------

# Libraries that take a noticeable share of a second to import (measured: torch 1.5 s, transformers
# 1.2 s, peft 4.6 s, sklearn 1.4 s, mlflow 1.4 s, datasets 0.7 s, alembic 0.3 s, pandas 0.3 s,
# fastapi 0.24 s, matplotlib 0.23 s) or are optional extras: an import of one of them may wait
# inside the function that needs it. Every other import is at the top of its module, where the
# layers contract and a reader see it.
HEAVY_LIBRARIES = {
    "torch", "transformers", "peft", "sklearn", "scipy", "matplotlib", "fastapi", "starlette", "pandas",
    "datasets", "alembic", "sqlalchemy", "mlflow", "tensorboard", "wandb", "llama_cpp", "gguf", "playwright",
    "sklearn_crfsuite", "pycrfsuite", "seqeval", "xgrammar", "llguidance", "outlines", "kaggle", "openai",
    "bitsandbytes", "accelerate", "vllm", "uvicorn", "huggingface_hub", "safetensors", "pyarrow",
}  # fmt: skip


def test_function_level_imports_are_of_modules_that_load_a_heavy_library() -> None:
    """An in-function ``brewslm`` import hides an edge from a reader; it is kept only when the
    imported module loads a heavy library at import time (so ``brewslm --help`` stays fast)."""
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    trees = {name: ast.parse(path.read_text(encoding="utf-8")) for name, path in modules.items()}
    heavy = _heavy_modules(modules, trees)
    light = [
        f"{name}:{line} imports {target} inside a function"
        for name, tree in trees.items()
        for line, target in _function_level_imports(name, tree, modules)
        if target not in heavy
    ]
    assert light == [], "move these imports to the top of their module:\n" + "\n".join(light)


def test_the_command_line_starts_without_the_heavy_libraries() -> None:
    code = "import sys, brewslm.cli; print(sorted(m for m in sys.modules if m.split('.')[0] in %r))" % sorted(
        HEAVY_LIBRARIES - {"sqlalchemy"}  # the workspace database opens with every command
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: dict) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
    return [base] + [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules]


def _module_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []

    def walk(statements: list[ast.stmt]) -> None:
        for statement in statements:
            if isinstance(statement, (ast.Import, ast.ImportFrom)):
                found.append(statement)
            elif isinstance(statement, ast.If) and "TYPE_CHECKING" not in ast.dump(statement.test):
                walk(statement.body)
                walk(statement.orelse)
            elif isinstance(statement, ast.Try):
                for block in (
                    statement.body,
                    statement.orelse,
                    statement.finalbody,
                    *[h.body for h in statement.handlers],
                ):
                    walk(block)

    walk(tree.body)
    return found


def _heavy_modules(modules: dict[str, Path], trees: dict[str, ast.Module]) -> set[str]:
    """The brewslm modules whose import (their own module-level imports, their packages' __init__,
    transitively) loads a heavy library."""
    direct: dict[str, set[str]] = {}
    for name, tree in trees.items():
        is_package = modules[name].name == "__init__.py"
        imported = {
            target for node in _module_level_imports(tree) for target in _imported(node, name, is_package, modules)
        }
        parts = name.split(".")
        imported |= {".".join(parts[:i]) for i in range(1, len(parts))}
        direct[name] = imported
    heavy = {name for name, imported in direct.items() if any(t.split(".")[0] in HEAVY_LIBRARIES for t in imported)}
    changed = True
    while changed:
        grown = {name for name, imported in direct.items() if name not in heavy and imported & heavy}
        heavy |= grown
        changed = bool(grown)
    return heavy


def _function_level_imports(module: str, tree: ast.Module, modules: dict) -> list[tuple[int, str]]:
    is_package = modules[module].name == "__init__.py"
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(function):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                targets = [t for t in _imported(node, module, is_package, modules) if t.startswith("brewslm")]
                if targets:
                    target = targets[-1] if targets[-1] in modules else targets[0]
                    found.append((node.lineno, target if target in modules else target.rsplit(".", 1)[0]))
    return sorted(set(found))
