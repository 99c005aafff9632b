"""Scoring a corpus of samples with named metrics, each isolated from the others' failures."""
from __future__ import annotations

import traceback as tb
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from .contracts import check_metric_result
from .errors import ConfigError, EscbenchError, MetricNotApplicableError
from .registry import Registry, Sample


@dataclass
class ScoredCorpus:
    """Scores of one corpus. A column whose value was not a finite number is None in
    ``scores`` and its metric has an entry in ``errors``; ``tracebacks`` holds the full
    traceback of each metric that raised (shown with ``--traceback``)."""

    scores: dict[str, float | None] = field(default_factory=dict)
    meta: dict[str, dict[str, Any]] = field(default_factory=dict)
    per_sample: dict[str, list] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    metrics: list[str] = field(default_factory=list)
    tracebacks: dict[str, str] = field(default_factory=dict)


def default_metric_names(metrics: Registry) -> list[str]:
    """Metrics used when the user names none: those whose class says ``default = True``
    (metrics without the attribute count as default)."""
    return [name for name, cls, _ in metrics.items() if getattr(cls, "default", True)]


def build_metric(metrics: Registry, name: str, args: dict[str, Any]):
    cls = metrics.get(name)
    try:
        return cls(**args)
    except TypeError as error:
        raise ConfigError(f"metric {name!r}: bad arguments {args}: {error}") from None


def score_samples(
    samples: Sequence[Sample],
    metric_specs: list[tuple[str, dict[str, Any]]],
    metrics: Registry,
    on_metric: Callable[[str], None] | None = None,
    describe_plugin: Callable[[str], str] | None = None,
) -> ScoredCorpus:
    """Run every metric on the samples; a metric that raises anything, or returns a result
    that breaks its contract, is recorded in ``errors`` with its name and plugin; one that does
    not apply in ``skipped``; the others still run. ``describe_plugin(plugin)`` words the
    plugin for messages (default: ``plugin 'x'``)."""
    out = ScoredCorpus(metrics=[name for name, _ in metric_specs])
    for name, args in metric_specs:
        who = f"metric {name!r}"
        if name in metrics:
            plugin = metrics.plugin_of(name)
            who += f" ({describe_plugin(plugin) if describe_plugin else f'plugin {plugin!r}'})"
        try:
            metric = build_metric(metrics, name, args)
            result = metric.compute(samples)
            scores, per_sample, problems = check_metric_result(
                result, list(getattr(metric, "columns", ()) or ()), len(samples), who)
        except MetricNotApplicableError as error:
            out.skipped[name] = str(error)
        except EscbenchError as error:
            out.errors[name] = str(error) if name in str(error) else f"{who}: {error}"
        except Exception as error:  # a metric plugin's bug must not lose the other scores
            out.errors[name] = f"{who} failed: {type(error).__name__}: {error}"
            out.tracebacks[name] = tb.format_exc()
        else:
            for column, value in scores.items():
                out.scores[column] = value
                out.meta[column] = {
                    "metric": name,
                    "higher_is_better": bool(getattr(metric, "higher_is_better", True)),
                }
            out.per_sample.update(per_sample)
            if problems:
                out.errors[name] = "; ".join(problems)
        if on_metric:
            on_metric(name)
    return out
