"""Coverage of the 95% intervals of escbench.harness.resampling, by simulation.

Each case draws many corpora from a population whose true value is known independently of
escbench (a mean from the distribution's formula, Distinct-n by Monte Carlo with Python sets,
BLEU from NLTK's ``corpus_bleu`` on a very large sample), builds the interval of each drawn
corpus with escbench's code, and counts how often it holds the true value: 93-97% for a
95% interval. Seeds are fixed, so the counts are reproducible.
"""
from __future__ import annotations

import numpy as np
import pytest

from escbench.harness.resampling import MeanScores
from escbench.plugins.metrics.bleu import BleuScores, bleu_counts
from escbench.harness.resampling import confidence_intervals, paired_bootstrap
from escbench.plugins.metrics.distinct import DistinctScores

VOCABULARY = 300
_WEIGHTS = 1 / np.arange(1, VOCABULARY + 1) ** 1.1
_WEIGHTS /= _WEIGHTS.sum()


def _replies(rng: np.random.Generator, count: int) -> list[list[str]]:
    """Replies of 4-12 words from a Zipf-like vocabulary (so n-grams repeat often)."""
    return [[f"w{t}" for t in rng.choice(VOCABULARY, size=rng.integers(4, 13), p=_WEIGHTS)]
            for _ in range(count)]


def _distinct_by_sets(replies: list[list[str]], n: int) -> float:
    seen, total = set(), 0
    for tokens in replies:
        grams = [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
        seen.update(grams)
        total += len(grams)
    return len(seen) / total * 100


def _coverage(intervals: list[tuple[float, float]], truth: float) -> float:
    return sum(low <= truth <= high for low, high in intervals) / len(intervals)


def test_distinct_intervals_cover_the_true_value_95_percent_of_the_time():
    rng = np.random.default_rng(7)
    size = 60
    # The true Distinct-2 of a corpus of 60 replies from this population: Monte Carlo mean.
    truth = float(np.mean([_distinct_by_sets(_replies(rng, size), 2) for _ in range(3000)]))
    intervals, inside = [], 0
    for _ in range(1000):
        scores = DistinctScores(_replies(rng, size), (2,), drop_last=False)
        interval = confidence_intervals(scores)["D-2"]
        intervals.append((interval.low, interval.high))
        inside += interval.low <= interval.value <= interval.high
    assert inside == len(intervals)
    assert 0.93 <= _coverage(intervals, truth) <= 0.97


def test_mean_intervals_cover_the_true_mean_95_percent_of_the_time():
    rng = np.random.default_rng(11)
    truth = 2 / (2 + 5)  # mean of Beta(2, 5)
    intervals = []
    for seed in range(600):
        scores = MeanScores({"V": rng.beta(2, 5, size=50)}, scale=1.0)
        interval = confidence_intervals(scores, resamples=400, seed=seed)["V"]
        assert interval.low <= interval.value <= interval.high
        intervals.append((interval.low, interval.high))
    assert 0.93 <= _coverage(intervals, truth) <= 0.97


def _bleu_pairs(rng: np.random.Generator, count: int) -> list[tuple[list[str], list[str]]]:
    """A reference of 6-14 words and a hypothesis that keeps each word with p=0.6 and
    replaces it otherwise, plus 0-3 extra words."""
    pairs = []
    for reference in _replies(rng, count):
        hypothesis = [w if rng.random() < 0.6 else f"w{rng.integers(VOCABULARY)}" for w in reference]
        hypothesis += [f"w{t}" for t in rng.integers(VOCABULARY, size=rng.integers(0, 4))]
        pairs.append((hypothesis, reference))
    return pairs


def test_bleu_intervals_cover_the_population_bleu_95_percent_of_the_time():
    from nltk.translate.bleu_score import SmoothingFunction, corpus_bleu

    rng = np.random.default_rng(5)
    population = _bleu_pairs(rng, 40000)
    truth = corpus_bleu([[r] for _, r in population], [h for h, _ in population],
                        smoothing_function=SmoothingFunction().method3) * 100
    intervals = []
    for seed in range(500):
        rows = np.array([bleu_counts(h, r, 4) for h, r in _bleu_pairs(rng, 200)], dtype=np.int64)
        interval = confidence_intervals(BleuScores("B-4", rows, 4), resamples=400, seed=seed)["B-4"]
        assert interval.low <= interval.value <= interval.high
        intervals.append((interval.low, interval.high))
    assert 0.93 <= _coverage(intervals, truth) <= 0.97


def test_paired_distinct_test_is_calibrated_and_finds_a_real_difference():
    rng = np.random.default_rng(3)
    # Two systems from the same population: p < 0.05 in about 5% of draws.
    rejections = sum(
        paired_bootstrap(DistinctScores(_replies(rng, 60), (2,), False),
                         DistinctScores(_replies(rng, 60), (2,), False))["D-2"].p_value < 0.05
        for _ in range(400))
    assert 0.02 <= rejections / 400 <= 0.08
    # A system that repeats one reply is less diverse than one that does not.
    varied = _replies(rng, 60)
    repetitive = [varied[0]] * 30 + varied[30:]
    result = paired_bootstrap(DistinctScores(varied, (2,), False), DistinctScores(repetitive, (2,), False))["D-2"]
    assert result.delta > 0 and result.p_value < 0.01 and result.low > 0
