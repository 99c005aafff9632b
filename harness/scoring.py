"""Scoring a corpus of samples with named metrics, each isolated from the others' failures."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from .errors import ConfigError, EscbenchError, MetricNotApplicableError
from .registry import Registry, Sample


@dataclass
class CorpusScores:
    scores: dict[str, float] = field(default_factory=dict)
    meta: dict[str, dict[str, Any]] = field(default_factory=dict)
    per_sample: dict[str, list] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    metrics: list[str] = field(default_factory=list)


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
) -> CorpusScores:
    """Run every metric on the samples; a metric that fails is recorded in ``errors`` with
    its message, one that does not apply in ``skipped``; the others still run."""
    out = CorpusScores(metrics=[name for name, _ in metric_specs])
    for name, args in metric_specs:
        try:
            metric = build_metric(metrics, name, args)
            result = metric.compute(samples)
        except MetricNotApplicableError as error:
            out.skipped[name] = str(error)
        except EscbenchError as error:
            out.errors[name] = str(error)
        except Exception as error:  # a metric plugin's bug must not lose the other scores
            out.errors[name] = f"{type(error).__name__}: {error}"
        else:
            for column, value in result.scores.items():
                out.scores[column] = float(value)
                out.meta[column] = {
                    "metric": name,
                    "higher_is_better": bool(getattr(metric, "higher_is_better", True)),
                }
            for column, values in result.per_sample.items():
                out.per_sample[column] = list(values)
        if on_metric:
            on_metric(name)
    return out
