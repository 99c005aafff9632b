"""The pre-0.2 top-level import names ``harness``, ``plugins`` and ``leaderboard``, kept for one
release: importing them (or any module below them) gives the very module object of
``escbench.harness`` / ``escbench.plugins`` / ``escbench.leaderboard`` (never a second copy, so
plugin registration cannot double) and emits a DeprecationWarning naming the new import.
escbench-rename: keep (the rename script leaves this file alone)

:func:`install` puts the finder first on ``sys.meta_path``; ``escbench/__init__`` calls it, and
the three packages' ``__init__`` call it too when they are imported under their old name from a
checkout on ``sys.path`` (then ``escbench`` is imported first and the old name is re-pointed).
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import os
import sys
import warnings

OLD_NAMES = ("harness", "plugins", "leaderboard")
NEW_PACKAGE = "escbench"
REMOVED_IN = "escbench 0.3"
ROOT = os.path.dirname(os.path.abspath(__file__)) + os.sep


def deprecation(old: str) -> str:
    return (f"importing {old!r} is deprecated and stops working in {REMOVED_IN}: "
            f"import {NEW_PACKAGE}.{old} instead (plugin API: `from escbench import hookimpl, Generation, ...`)")


def warn(old: str) -> None:
    """A DeprecationWarning attributed to the code that imported the old name: the first frame
    outside the import machinery, this module and escbench's own package ``__init__`` files."""
    frame, level = sys._getframe(1), 2  # stacklevel 2: warn's caller
    while frame is not None and _machinery(frame.f_code.co_filename):
        # warnings itself does not count importlib's frozen frames in stacklevel
        level += not frame.f_code.co_filename.startswith("<frozen importlib")
        frame = frame.f_back
    warnings.warn(deprecation(old), DeprecationWarning, stacklevel=level)


def _machinery(filename: str) -> bool:
    return (filename.startswith("<frozen importlib") or filename == __file__
            or (filename.startswith(ROOT) and filename.endswith("__init__.py")))


class _Alias(importlib.abc.Loader):
    """Loads ``OLD.X`` by importing ``escbench.OLD.X`` and putting that module under both names."""

    def __init__(self, target: str):
        self.target = target

    def create_module(self, spec):
        return None  # a placeholder; exec_module swaps in the real module

    def exec_module(self, module) -> None:
        sys.modules[module.__name__] = importlib.import_module(self.target)


class LegacyFinder(importlib.abc.MetaPathFinder):
    """Finds ``harness[.X]``, ``plugins[.X]``, ``leaderboard[.X]`` as aliases (see module doc)."""

    def find_spec(self, fullname, path=None, target=None):
        top = fullname.partition(".")[0]
        if top not in OLD_NAMES:
            return None
        if top not in sys.modules or fullname == top:
            warn(top)
        return importlib.util.spec_from_loader(fullname, _Alias(f"{NEW_PACKAGE}.{fullname}"))


def install() -> None:
    """Put one LegacyFinder first on ``sys.meta_path`` (idempotent)."""
    if not any(isinstance(finder, LegacyFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, LegacyFinder())


def redirect(module_name: str) -> None:
    """Called by ``harness/__init__`` etc. when Python found them under their old top-level name
    (a checkout on ``sys.path``): warn and make the old name the ``escbench`` package's module."""
    install()
    warn(module_name)
    sys.modules[module_name] = importlib.import_module(f"{NEW_PACKAGE}.{module_name}")
