"""What every built-in metric shares: per-sample scores that can be re-aggregated.

A metric's :meth:`CorpusMetric.score` returns a :class:`CorpusScores`: per-sample values
plus ``corpus(indices)``, the corpus-level value over any multiset of sample positions.
``compute`` (the registry contract) is ``corpus()`` over all samples; the bootstrap
(:mod:`plugins.metrics.bootstrap`) calls ``corpus`` on resampled positions.
"""
from __future__ import annotations

import math
from typing import ClassVar, Sequence

import numpy as np

from harness.errors import ConfigError, MetricUnavailableError
from harness.registry import MetricResult, Sample


class CorpusScores:
    """Per-sample scores of one metric on one list of samples.

    ``per_sample`` maps each column to a list aligned with the samples (None where a
    sample has no value); :meth:`corpus` gives the corpus-level value of every column for
    the samples at ``indices`` (all samples when None), repeats allowed.
    """

    columns: tuple[str, ...]
    per_sample: dict[str, list[float | None]]
    #: How :mod:`.bootstrap` builds intervals: ``"bootstrap"`` (percentile bootstrap over
    #: examples) or ``"jackknife"`` (delete-one jackknife standard error, normal interval;
    #: for statistics that resampling with replacement biases, such as Distinct-n).
    interval_method: str = "bootstrap"

    def leave_one_out(self, column: str) -> np.ndarray:
        """The corpus value of ``column`` with each example left out in turn (jackknife)."""
        everyone = np.arange(len(self))
        return np.array([self.corpus(np.delete(everyone, i))[column] for i in range(len(self))])

    def __len__(self) -> int:
        return len(next(iter(self.per_sample.values()), []))

    def corpus(self, indices: np.ndarray | None = None) -> dict[str, float]:
        raise NotImplementedError


class MeanScores(CorpusScores):
    """Corpus value = ``scale`` x the mean of the per-sample values (None skipped; 0.0
    when no sample has a value). Per-sample values are reported times ``scale`` too."""

    def __init__(self, values: dict[str, Sequence[float | None]], scale: float = 100.0):
        self.columns = tuple(values)
        self.scale = scale
        self._values = {column: np.array([np.nan if v is None else v for v in column_values],
                                         dtype=np.float64)
                        for column, column_values in values.items()}
        self.per_sample = {column: [None if np.isnan(v) else float(v) * scale for v in array]
                           for column, array in self._values.items()}

    def corpus(self, indices: np.ndarray | None = None) -> dict[str, float]:
        out = {}
        for column, values in self._values.items():
            chosen = values if indices is None else values[indices]
            chosen = chosen[~np.isnan(chosen)]
            out[column] = mean_exact(chosen) * self.scale if len(chosen) else 0.0
        return out


def mean_exact(values) -> float:
    """Mean from a correctly rounded sum: the same value whatever the order of samples."""
    values = values.tolist() if isinstance(values, np.ndarray) else list(values)
    return math.fsum(values) / len(values)


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
