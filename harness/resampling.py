"""Resampling API (harness-level, shared by the metrics plugin and the leaderboard): per-sample
scores that can be re-aggregated (:class:`CorpusScores`, :class:`MeanScores`), confidence
intervals and paired tests for them, by resampling examples.

The method follows the scores' ``interval_method`` (see :class:`CorpusScores`):

- ``"bootstrap"`` (means, BLEU, ROUGE-L, METEOR, Extrema, strategy, toxicity): ``resamples``
  draws of n out of n examples with replacement (``numpy.random.default_rng(seed)``, so a
  fixed seed gives the same numbers), the corpus value recomputed on each (BLEU from summed
  counts). :func:`confidence_intervals` gives the percentile interval (2.5th and 97.5th
  percentiles for 95%); :func:`paired_bootstrap` applies each draw to both systems, ``delta``
  = A - B on all examples, and a two-sided p-value ``(1 + #draws whose delta, shifted so the
  draws average 0, is at least as far from 0 as the observed delta) / (1 + resamples)``.
- ``"jackknife"`` (Distinct-n, whose value drops when a resample repeats responses): the
  delete-one jackknife standard error ``se = sqrt((n-1)/n * sum (v_i - mean v)^2)`` over the
  n leave-one-out values, and the normal interval ``value +- z se``; the paired test uses the
  leave-one-out deltas and ``p = 2 (1 - Phi(|delta| / se))``.

Every interval contains the value it is printed beside (a percentile bound that falls on
the wrong side of it is moved onto it).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Iterator, Sequence

import numpy as np

from escbench.harness.errors import ConfigError


class CorpusScores:
    """Per-sample scores of one metric on one list of samples.

    ``per_sample`` maps each column to a list aligned with the samples (None where a
    sample has no value); :meth:`corpus` gives the corpus-level value of every column for
    the samples at ``indices`` (all samples when None), repeats allowed.
    """

    columns: tuple[str, ...]
    per_sample: dict[str, list[float | None]]
    #: How this module builds intervals: ``"bootstrap"`` (percentile bootstrap over
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


def _jackknife_se(values: np.ndarray) -> float:
    n = len(values)
    return math.sqrt((n - 1) / n * float(np.sum((values - values.mean()) ** 2))) if n > 1 else 0.0


def _split_columns(scores: CorpusScores, columns) -> tuple[list[str], list[str]]:
    jackknifed = [c for c in columns if getattr(scores, "interval_method", "bootstrap") == "jackknife"]
    return [c for c in columns if c not in jackknifed], jackknifed


def confidence_intervals(scores: CorpusScores, resamples: int = 1000, seed: int = 0,
                         confidence: float = 0.95) -> dict[str, Interval]:
    """Interval of every column's corpus value, by the scores' ``interval_method``."""
    tail = _check_confidence(confidence)
    observed = scores.corpus()
    resampled, jackknifed = _split_columns(scores, scores.columns)
    out: dict[str, Interval] = {}
    if resampled:
        draws: dict[str, list[float]] = {column: [] for column in resampled}
        for indices in resampled_indices(len(scores), resamples, seed):
            values = scores.corpus(indices)
            for column in resampled:
                draws[column].append(values[column])
        for column in resampled:
            value = observed[column]
            low, high = np.percentile(draws[column], [tail, 100 - tail])
            out[column] = Interval(value, min(float(low), value), max(float(high), value))
    if jackknifed:
        if len(scores) < 1:
            raise ConfigError("bootstrap needs at least one example")
        z = NormalDist().inv_cdf(1 - tail / 100)
        for column in jackknifed:
            half = z * _jackknife_se(np.asarray(scores.leave_one_out(column), dtype=np.float64))
            out[column] = Interval(observed[column], observed[column] - half, observed[column] + half)
    return {column: out[column] for column in scores.columns}


def paired_bootstrap(scores_a: CorpusScores, scores_b: CorpusScores, resamples: int = 1000,
                     seed: int = 0, confidence: float = 0.95) -> dict[str, PairedComparison]:
    """Paired comparison of system A against system B on the same examples, per column."""
    tail = _check_confidence(confidence)
    if len(scores_a) != len(scores_b):
        raise ConfigError(f"paired bootstrap needs the same examples for both systems "
                          f"(got {len(scores_a)} and {len(scores_b)})")
    columns = [c for c in scores_a.columns if c in scores_b.columns]
    resampled, jackknifed = _split_columns(scores_a, columns)
    observed_a, observed_b = scores_a.corpus(), scores_b.corpus()
    out: dict[str, PairedComparison] = {}
    if resampled:
        deltas: dict[str, list[float]] = {column: [] for column in resampled}
        for indices in resampled_indices(len(scores_a), resamples, seed):
            values_a, values_b = scores_a.corpus(indices), scores_b.corpus(indices)
            for column in resampled:
                deltas[column].append(values_a[column] - values_b[column])
        for column in resampled:
            draws = np.array(deltas[column])
            observed = observed_a[column] - observed_b[column]
            extreme = np.count_nonzero(np.abs(draws - draws.mean()) >= abs(observed))
            low, high = np.percentile(draws, [tail, 100 - tail])
            out[column] = PairedComparison(observed, min(float(low), observed), max(float(high), observed),
                                           (extreme + 1) / (len(draws) + 1))
    z = NormalDist().inv_cdf(1 - tail / 100)
    for column in jackknifed:
        observed = observed_a[column] - observed_b[column]
        se = _jackknife_se(np.asarray(scores_a.leave_one_out(column), dtype=np.float64)
                           - np.asarray(scores_b.leave_one_out(column), dtype=np.float64))
        if se > 0:
            p_value = 2 * (1 - NormalDist().cdf(abs(observed) / se))
        else:
            p_value = 1.0 if observed == 0 else 0.0
        out[column] = PairedComparison(observed, observed - z * se, observed + z * se, p_value)
    return {column: out[column] for column in columns}
