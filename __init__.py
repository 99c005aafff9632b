"""escbench: a plugin-based benchmark harness for emotional-support conversation models.

Installed, the repository's folders are one import package: ``escbench.harness`` (the engine),
``escbench.plugins`` (the built-in plugins), ``escbench.leaderboard`` and ``escbench.tasks``
(data). The plugin API is importable from here::

    from escbench import hookimpl, Generation, MetricResult

    @hookimpl
    def register_metrics():
        return [MyMetric]

The names below are loaded on first use, so ``import escbench`` stays cheap. The pre-0.2 imports
(``from harness import hookimpl``, ``import plugins.metrics``, ...) still work in this release,
with a DeprecationWarning (see CHANGELOG.md).
escbench-rename: keep (the rename script leaves this file alone)
"""
from __future__ import annotations

import importlib

from . import _legacy_names
from .harness import PROJECT, __version__, hookimpl, hookspec

_legacy_names.install()

# public name -> the escbench module that defines it
_API = {
    **dict.fromkeys(("Generation", "GenerationSettings", "Sample", "MetricResult", "System", "Metric"),
                    "escbench.harness.registry"),
    **dict.fromkeys(("Example", "Turn", "Dialogue"), "escbench.harness.data"),
    **dict.fromkeys(("EscbenchError", "ConfigError", "DataError", "UnknownNameError", "UnknownStrategyError",
                     "PluginError", "PluginOutputError", "SystemUnavailableError", "MetricUnavailableError",
                     "MetricNotApplicableError"), "escbench.harness.errors"),
    **dict.fromkeys(("StrategyCatalog", "load_strategy_catalog"), "escbench.harness.catalogs"),
    **dict.fromkeys(("PromptFile", "read_prompt_template", "fill_placeholders", "example_to_messages"),
                    "escbench.harness.prompts"),
    "resolve_project_path": "escbench.harness.paths",
    "trim_at_stops": "escbench.harness.stops",
    **dict.fromkeys(("CorpusScores", "MeanScores", "confidence_intervals", "paired_bootstrap"),
                    "escbench.harness.resampling"),
}

__all__ = ["PROJECT", "__version__", "hookimpl", "hookspec", *_API]


def __getattr__(name: str):
    if name in _API:
        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'escbench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
