"""The shape of the code: short functions, modules of one concept, and imports that go
downward at the top of a module (the layers themselves: `lint-imports`, pyproject.toml)."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "digest", "handlers")
MAX_FUNCTION_LINES = 100
MAX_MODULE_LINES = 600


@functools.cache  # parsed once for every test here (the trees are only read)
def modules() -> tuple[tuple[str, ast.Module, int], ...]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            found.append(
                (path.relative_to(ROOT).as_posix(), ast.parse(text), len(text.splitlines()))
            )
    return tuple(found)


def is_project(module: str | None, level: int) -> bool:
    return level > 0 or (module or "").split(".")[0] in PACKAGES


def test_no_long_functions_or_modules() -> None:
    too_long: list[str] = []
    for name, tree, lines in modules():
        if lines > MAX_MODULE_LINES:
            too_long.append(f"{name}: {lines} lines")
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{name}:{node.name}: {length} lines")
    assert too_long == []


@pytest.mark.parametrize("package", PACKAGES)
def test_project_imports_are_at_module_level(package: str) -> None:
    """No import of the project inside a function or under TYPE_CHECKING: a cycle is
    broken by moving a contract down, never hidden."""
    hidden: list[str] = []
    for name, tree, _ in modules():
        if not name.startswith(f"{package}/"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.If):
                if isinstance(node, ast.If) and "TYPE_CHECKING" not in ast.unparse(node.test):
                    continue
                for inner in ast.walk(node):
                    if isinstance(inner, ast.ImportFrom) and is_project(inner.module, inner.level):
                        hidden.append(f"{name}:{inner.lineno} {inner.module}")
                    if isinstance(inner, ast.Import) and any(
                        is_project(a.name, 0) for a in inner.names
                    ):
                        hidden.append(f"{name}:{inner.lineno}")
    assert hidden == []


def test_every_package_of_bot_says_what_it_is() -> None:
    for init in sorted((ROOT / "bot").rglob("__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc, f"{init.relative_to(ROOT)} has no docstring"
