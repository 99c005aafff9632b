"""Corpus BLEU as NLTK's ``corpus_bleu`` computes it (the ESConv reference code's B-4).

Clipped n-gram matches and hypothesis n-gram counts (at least 1 per response and order)
are summed over the corpus; BLEU = BP * exp(sum_n w_n log p_n) with uniform weights
``1/max_n``, brevity penalty from the summed closest-reference lengths, and
``SmoothingFunction().method3`` (an order with no match gets ``1 / (2^k * count)``, k
counting such orders); 0 when no unigram matches. Reported x100. Per-sample values are
the same formula on one response (NLTK ``sentence_bleu`` with method3).

Each response is reduced to its counts once; corpus BLEU of any resample is then a sum
of rows (see :class:`BleuScores`).
"""
from __future__ import annotations

import math
from collections import Counter
from typing import ClassVar, Sequence

import numpy as np

from escbench.harness.errors import ConfigError
from escbench.harness.registry import Sample
from escbench.harness.resampling import CorpusScores

from .base import CorpusMetric
from .tokenize import tokenize


def bleu_counts(hypothesis: Sequence[str], reference: Sequence[str], max_n: int) -> list[int]:
    """``[hyp_len, ref_len, matches_1..max_n, counts_1..max_n]`` for one response: clipped
    n-gram matches, and ``max(1, number of hypothesis n-grams)`` as in NLTK's
    modified_precision.

    Only n-grams made entirely of words that both sides contain can match, so for n >= 2
    just the runs of such words are cut into n-grams.
    """
    totals = [max(1, len(hypothesis) - n + 1) for n in range(1, max_n + 1)]
    matches = [0] * max_n
    hyp_words = set(hypothesis)
    common = hyp_words.intersection(reference)
    if common:
        matches[0] = (len(common) if len(hyp_words) == len(hypothesis)
                      else _clipped_matches(hypothesis, reference))
        hyp_runs = _runs_within(hypothesis, common)
        ref_runs = _runs_within(reference, common)
        for n in range(2, max_n + 1):
            hyp_grams = [g for run in hyp_runs for g in zip(*[run[i:] for i in range(n)])]
            if not hyp_grams:
                break
            ref_grams = [g for run in ref_runs for g in zip(*[run[i:] for i in range(n)])]
            matches[n - 1] = _clipped_matches(hyp_grams, ref_grams)
    return [len(hypothesis), len(reference)] + matches + totals


def _clipped_matches(hyp_grams: Sequence, ref_grams: Sequence) -> int:
    """Sum over hypothesis n-grams of min(count in hypothesis, count in reference)."""
    distinct = set(hyp_grams)
    if len(distinct) == len(hyp_grams):
        # Every hypothesis n-gram occurs once: it counts 1 if the reference has it.
        return len(distinct.intersection(ref_grams))
    hyp_counts, ref_counts = Counter(hyp_grams), Counter(ref_grams)
    return sum(min(count, ref_counts[gram]) for gram, count in hyp_counts.items()
               if gram in ref_counts)


def _runs_within(tokens: Sequence[str], allowed: set[str]) -> list[Sequence[str]]:
    """Maximal stretches (of two or more tokens) made only of ``allowed`` tokens."""
    runs, start = [], -1
    for position, token in enumerate(tokens):
        if token in allowed:
            if start < 0:
                start = position
        else:
            if start >= 0 and position - start > 1:
                runs.append(tokens[start:position])
            start = -1
    if start >= 0 and len(tokens) - start > 1:
        runs.append(tokens[start:])
    return runs


def bleu_from_counts(sums: Sequence[int], max_n: int) -> float:
    """BLEU (0..1) from summed :func:`bleu_counts` rows, as NLTK corpus_bleu + method3."""
    hyp_len, ref_len = int(sums[0]), int(sums[1])
    matches = [int(x) for x in sums[2:2 + max_n]]
    totals = [int(x) for x in sums[2 + max_n:2 + 2 * max_n]]
    if matches[0] == 0:
        return 0.0
    if hyp_len > ref_len:
        penalty = 1.0
    elif hyp_len == 0:
        penalty = 0.0
    else:
        penalty = math.exp(1 - ref_len / hyp_len)
    precisions: list[float] = []
    smoothing_power = 1
    for match, total in zip(matches, totals):
        if match == 0:
            precisions.append(1 / (2 ** smoothing_power * total))
            smoothing_power += 1
        else:
            precisions.append(match / total)
    weight = 1 / max_n
    log_sum = math.fsum(weight * math.log(p) for p in precisions if p > 0)
    return penalty * math.exp(log_sum)


class BleuScores(CorpusScores):
    """Count rows per response; corpus BLEU of any index multiset = BLEU of summed rows."""

    def __init__(self, column: str, rows: np.ndarray, max_n: int, scale: float = 100.0):
        self.columns = (column,)
        self.max_n, self.scale, self._rows = max_n, scale, rows
        self.per_sample = {column: [bleu_from_counts(row, max_n) * scale for row in rows.tolist()]}

    def corpus(self, indices: np.ndarray | None = None) -> dict[str, float]:
        chosen = self._rows if indices is None else self._rows[indices]
        return {self.columns[0]: bleu_from_counts(chosen.sum(axis=0).tolist(), self.max_n) * self.scale}


class Bleu(CorpusMetric):
    """Corpus BLEU-n (default 4) with NLTK's method3 smoothing, x100."""

    name: ClassVar[str] = "bleu"
    description: ClassVar[str] = ("corpus BLEU-4 (NLTK corpus_bleu, uniform weights, "
                                  "SmoothingFunction().method3), x100; max_n=1..3 for BLEU-1..3")
    columns: ClassVar[Sequence[str]] = ("B-4",)

    def __init__(self, max_n: int = 4):
        if str(max_n).strip() not in ("1", "2", "3", "4"):
            raise ConfigError(f"metric 'bleu': max_n must be 1, 2, 3 or 4 (got {max_n!r})")
        self.max_n = int(max_n)
        self.columns = (f"B-{self.max_n}",)

    def score(self, samples: Sequence[Sample]) -> BleuScores:
        rows = np.array([bleu_counts(tokenize(s.prediction), tokenize(s.reference), self.max_n)
                         for s in samples], dtype=np.int64).reshape(len(samples), 2 + 2 * self.max_n)
        return BleuScores(self.columns[0], rows, self.max_n)
