"""Checks on what plugins hand back, so a faulty plugin is reported by name instead of
crashing a run or corrupting its results.

* :func:`check_registered` — an entry of a ``register_*`` hook (a class with a ``name``...).
* :func:`check_generations` — ``System.generate``: a list of :class:`Generation` with ``str``
  text, one per example.
* :func:`check_metric_result` — ``Metric.compute``: finite numbers for declared columns,
  ``per_sample`` lists exactly as long as the samples.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Sequence

from .errors import PluginOutputError
from .registry import Generation, MetricResult

REQUIRED = {
    "systems": ("config", "prepare", "generate"),
    "metrics": ("compute",),
    "renderers": ("render",),
}


def check_registered(kind: str, item: Any) -> str | None:
    """Why ``item`` cannot be registered as one of ``kind`` ("systems", ...), or None."""
    name = getattr(item, "name", None)
    if not isinstance(name, str) or not name.strip():
        return f"{kind[:-1]} entry {item!r} has no string 'name'"
    missing = [attr for attr in REQUIRED.get(kind, ()) if not callable(getattr(item, attr, None))]
    if missing:
        return f"{kind[:-1]} {name!r} ({item!r}) lacks {', '.join(missing)}"
    if kind == "metrics":
        columns = getattr(item, "columns", None)
        if isinstance(columns, str) or not isinstance(columns, Sequence) or not all(
                isinstance(c, str) for c in columns):
            return f"metric {name!r}: 'columns' must be a list of column names, got {columns!r}"
    return None


def check_generations(result: Any, expected: int, who: str) -> list[Generation]:
    """``result`` if it is a list of ``expected`` Generations with ``str`` text; else
    PluginOutputError naming ``who`` (e.g. "system 'x' (plugin 'y')")."""
    if not isinstance(result, list):
        raise PluginOutputError(f"{who}: generate returned {type(result).__name__}, not a list of Generation")
    if len(result) != expected:
        raise PluginOutputError(f"{who}: generate returned {len(result)} generations for {expected} examples")
    for index, item in enumerate(result):
        if not isinstance(item, Generation):
            raise PluginOutputError(
                f"{who}: generate returned {type(item).__name__} {_short(item)} at position {index}, "
                "not a escbench.harness.registry.Generation")
        if not isinstance(item.text, str):
            raise PluginOutputError(
                f"{who}: Generation at position {index} has text {_short(item.text)} "
                f"({type(item.text).__name__}), not str")
    return result


def check_metric_result(
    result: Any, columns: Sequence[str], n_samples: int, who: str,
) -> tuple[dict[str, float | None], dict[str, list], list[str]]:
    """Validate ``Metric.compute``'s result: returns ``(scores, per_sample, problems)``.

    Raises PluginOutputError for a result that cannot be used at all (not a MetricResult,
    a column it did not declare, a score that is not a number, a per-sample list of the wrong
    length). A non-finite score is kept as None and described in ``problems``; non-finite
    per-sample values become None.
    """
    if not isinstance(result, MetricResult) or not isinstance(result.scores, dict):
        raise PluginOutputError(f"{who}: compute returned {type(result).__name__} {_short(result)}, "
                                "not a escbench.harness.registry.MetricResult")
    declared = set(columns)
    scores: dict[str, float | None] = {}
    problems: list[str] = []
    for column, value in result.scores.items():
        if declared and column not in declared:
            raise PluginOutputError(f"{who}: score column {column!r} is not among its declared columns {list(columns)}")
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise PluginOutputError(f"{who}: score {column!r} is {_short(value)} ({type(value).__name__}), not a number")
        value = float(value)
        if not math.isfinite(value):
            problems.append(f"{who}: score {column!r} is {value} (not a finite number); recorded as null")
            scores[column] = None
        else:
            scores[column] = value
    per_sample: dict[str, list] = {}
    for column, values in (result.per_sample or {}).items():
        values = list(values)
        if len(values) != n_samples:
            raise PluginOutputError(
                f"{who}: per_sample[{column!r}] has {len(values)} values for {n_samples} samples")
        per_sample[column] = [_finite_or_none(v) for v in values]
    return scores, per_sample, problems


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = float(value) if not isinstance(value, int) else value
        return value if not isinstance(value, float) or math.isfinite(value) else None
    return value


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
