"""Strict JSON: what escbench writes must load in any strict parser (``JSON.parse``, jq).

Python's ``json.dumps`` writes ``NaN`` / ``Infinity`` for non-finite floats by default, which
strict parsers reject. :func:`dumps_strict` writes them as ``null`` instead (callers that must
say *why* a value is missing record an error next to it, see :func:`non_finite_paths`), turns
numpy-style scalars into plain numbers, and never emits a non-finite token.
"""
from __future__ import annotations

import json
import math
from typing import Any


def finite_or_none(value: Any) -> Any:
    """``value`` as a JSON-safe number: non-finite floats become None, numpy-style scalars
    (anything with ``.item()`` returning a number) become plain ``int``/``float``."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if not isinstance(value, float) and hasattr(value, "item"):
        try:
            value = value.item()
        except (TypeError, ValueError):
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return value
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def strict(obj: Any) -> Any:
    """A copy of ``obj`` (dicts, lists, tuples, scalars) with every non-finite float as None."""
    if isinstance(obj, dict):
        return {key: strict(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict(value) for value in obj]
    return finite_or_none(obj)


def non_finite_paths(obj: Any, prefix: str = "") -> list[str]:
    """Where ``obj`` holds non-finite floats, as ``a.b[2]`` paths (empty when none)."""
    found: list[str] = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            found += non_finite_paths(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(obj, (list, tuple)):
        for index, value in enumerate(obj):
            found += non_finite_paths(value, f"{prefix}[{index}]")
    elif isinstance(obj, float) and not math.isfinite(obj):
        found.append(prefix or "(value)")
    return found


def dumps_strict(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` that never writes NaN/Infinity (they become ``null``); same keywords."""
    kwargs["allow_nan"] = False
    return json.dumps(strict(obj), **kwargs)
