"""Each built-in plugin stands on its own (issue 15): walking the imports of every module (ast, so
also imports inside functions) finds no ``plugins/X`` module importing ``plugins/Y`` (X != Y),
``leaderboard`` importing anything of escbench but the harness, and the harness importing
neither plugins nor the leaderboard. Likewise no test module imports another test module
(shared fixtures live in conftest.py, shared helpers in plain modules)."""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TOPS = ("harness", "plugins", "leaderboard")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(source: str, module: str, is_package: bool) -> list[tuple[str, int]]:
    """Every module name ``source`` imports (relative imports resolved), with its line."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.append((name, node.lineno))
    return found


def owner(name: str) -> str | None:
    """``plugins.X`` for a plugin's module, ``harness`` / ``leaderboard``, None for anything else
    (the ``escbench.`` prefix of the installed namespace is ignored)."""
    parts = name.split(".")
    if parts[0] == "escbench":
        parts = parts[1:]
    if not parts or parts[0] not in TOPS:
        return None
    if parts[0] == "plugins":
        return "plugins." + parts[1] if len(parts) > 1 else "plugins"
    return parts[0]


def crossings(source: str, module: str, is_package: bool = False) -> list[str]:
    """The imports of ``module`` that break the dependency rules (see module doc)."""
    me = owner(module)
    bad = []
    for name, line in imported_names(source, module, is_package):
        other = owner(name)
        if other is None or other == me or other == "harness":
            continue
        if me == "harness" or me == "leaderboard" or me.startswith("plugins"):
            bad.append(f"{module} (line {line}) imports {name}")
    return bad


def test_no_module_imports_across_plugins_or_into_the_leaderboard():
    bad = []
    count = 0
    for top in TOPS:
        for path in sorted((REPO / top).rglob("*.py")):
            count += 1
            bad += crossings(path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py")
    assert count > 100  # the walk really read the tree
    assert bad == []


def test_the_walk_finds_each_kind_of_crossing():
    # hand-written modules that break each rule once, and imports that are allowed
    assert crossings("from escbench.plugins.chatpal.train.card import read_card", "escbench.plugins.systems.llama") == [
        "escbench.plugins.systems.llama (line 1) imports escbench.plugins.chatpal.train.card"]
    assert crossings("def f():\n    from ..metrics import base\n", "escbench.plugins.human.analysis") == [
        "escbench.plugins.human.analysis (line 2) imports escbench.plugins.metrics"]
    assert crossings("from escbench.plugins.metrics.base import X", "escbench.leaderboard.tables") == [
        "escbench.leaderboard.tables (line 1) imports escbench.plugins.metrics.base"]
    assert crossings("import escbench.leaderboard.tables", "escbench.harness.runner") == ["escbench.harness.runner (line 1) imports escbench.leaderboard.tables"]
    assert crossings("from . import x\nfrom .train import card\nfrom harness import hookimpl\nimport numpy",
                     "escbench.plugins.chatpal", is_package=True) == []
    assert crossings("from .collect import y", "escbench.leaderboard.tables") == []


def test_no_test_module_imports_another_test_module():
    bad = []
    for path in sorted((REPO / "tests").glob("*.py")):
        for name, line in imported_names(path.read_text(encoding="utf-8"), path.stem, False):
            if name.split(".")[0].startswith("test_"):
                bad.append(f"tests/{path.name} (line {line}) imports {name}")
    assert bad == []
