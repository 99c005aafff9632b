"""What every built-in metric shares: per-sample scores that can be re-aggregated.

A metric's :meth:`CorpusMetric.score` returns a :class:`CorpusScores`: per-sample values
plus ``corpus(indices)``, the corpus-level value over any multiset of sample positions.
``compute`` (the registry contract) is ``corpus()`` over all samples; the bootstrap
(:mod:`escbench.harness.resampling`) calls ``corpus`` on resampled positions.
"""
from __future__ import annotations

from typing import ClassVar, Sequence

from escbench.harness.errors import ConfigError, MetricUnavailableError
from escbench.harness.registry import MetricResult, Sample
from escbench.harness.resampling import CorpusScores


class CorpusMetric:
    """Base of the built-in metrics: subclasses implement :meth:`score`.

    ``default`` marks the metrics an ``escbench run`` without ``--metrics`` reports (the
    offline ones); ``columns`` may be narrowed per instance by options.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    columns: ClassVar[Sequence[str]]
    higher_is_better: ClassVar[bool] = True
    default: ClassVar[bool] = True

    def score(self, samples: Sequence[Sample]) -> CorpusScores:
        raise NotImplementedError

    def compute(self, samples: Sequence[Sample]) -> MetricResult:
        if not samples:
            raise MetricUnavailableError(self.name, "no samples to score")
        scores = self.score(samples)
        return MetricResult(scores=scores.corpus(), per_sample=scores.per_sample)


def as_bool(value: object, metric: str, option: str) -> bool:
    """An option's truth value from a bool or its usual spellings in ``--metric-args``."""
    if isinstance(value, bool):
        return value
    spelling = str(value).strip().lower()
    if spelling in ("1", "true", "yes", "on"):
        return True
    if spelling in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"metric {metric!r}: option {option}={value!r} is not true/false")
