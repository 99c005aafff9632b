"""Bootstrap confidence intervals and paired bootstrap tests for corpus metrics.

Both resample *examples* with replacement (``resamples`` draws of n out of n, from
``numpy.random.default_rng(seed)``, so a fixed seed gives the same numbers) and recompute
the corpus value of every column from :class:`~plugins.metrics.base.CorpusScores` (BLEU
from summed counts, Distinct from the union of n-grams, means for the rest).

- :func:`confidence_intervals`: the percentile interval (2.5th and 97.5th percentiles of
  the resampled values for 95%).
- :func:`paired_bootstrap`: two systems scored on the same examples, each draw applied to
  both; ``delta`` = A - B on all examples, and a two-sided p-value for "no difference":
  ``(1 + #draws whose delta, shifted so the draws average 0, is at least as far from 0 as
  the observed delta) / (1 + resamples)``. Shifting the draws by their mean makes them a
  sample of what deltas look like when the systems are equal; identical systems get 1.0.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from harness.errors import ConfigError

from .base import CorpusScores


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float


@dataclass(frozen=True)
class PairedComparison:
    """``delta`` = A - B on all examples; ``low``/``high`` bound the delta at the
    requested confidence; ``p_value`` is two-sided."""

    delta: float
    low: float
    high: float
    p_value: float


def resampled_indices(size: int, resamples: int, seed: int) -> Iterator[np.ndarray]:
    """``resamples`` arrays of ``size`` positions drawn with replacement (seeded)."""
    if size <= 0:
        raise ConfigError("bootstrap needs at least one example")
    if resamples < 1:
        raise ConfigError(f"bootstrap resamples must be at least 1 (got {resamples})")
    generator = np.random.default_rng(seed)
    for _ in range(resamples):
        yield generator.integers(0, size, size=size)


def _check_confidence(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ConfigError(f"bootstrap confidence must be between 0 and 1 (got {confidence})")
    return (1 - confidence) / 2 * 100


def confidence_intervals(scores: CorpusScores, resamples: int = 1000, seed: int = 0,
                         confidence: float = 0.95) -> dict[str, Interval]:
    """Percentile bootstrap interval of every column's corpus value."""
    tail = _check_confidence(confidence)
    draws = {column: [] for column in scores.columns}
    for indices in resampled_indices(len(scores), resamples, seed):
        for column, value in scores.corpus(indices).items():
            draws[column].append(value)
    observed = scores.corpus()
    return {column: Interval(observed[column], float(np.percentile(values, tail)),
                             float(np.percentile(values, 100 - tail)))
            for column, values in draws.items()}


def paired_bootstrap(scores_a: CorpusScores, scores_b: CorpusScores, resamples: int = 1000,
                     seed: int = 0, confidence: float = 0.95) -> dict[str, PairedComparison]:
    """Paired bootstrap of system A against system B on the same examples, per column."""
    tail = _check_confidence(confidence)
    if len(scores_a) != len(scores_b):
        raise ConfigError(f"paired bootstrap needs the same examples for both systems "
                          f"(got {len(scores_a)} and {len(scores_b)})")
    columns = [c for c in scores_a.columns if c in scores_b.columns]
    deltas = {column: [] for column in columns}
    for indices in resampled_indices(len(scores_a), resamples, seed):
        values_a, values_b = scores_a.corpus(indices), scores_b.corpus(indices)
        for column in columns:
            deltas[column].append(values_a[column] - values_b[column])
    observed_a, observed_b = scores_a.corpus(), scores_b.corpus()
    out = {}
    for column in columns:
        draws = np.array(deltas[column])
        observed = observed_a[column] - observed_b[column]
        extreme = np.count_nonzero(np.abs(draws - draws.mean()) >= abs(observed))
        out[column] = PairedComparison(observed, float(np.percentile(draws, tail)),
                                       float(np.percentile(draws, 100 - tail)),
                                       (extreme + 1) / (len(draws) + 1))
    return out
