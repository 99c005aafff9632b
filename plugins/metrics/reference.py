"""Straightforward implementations of the offline metrics: the speed yardstick of
``benchmarks/metrics.py`` (same definitions, no shortcuts).

Not a correctness anchor: these restate the same definitions, so the tests check the
metrics against independent sources instead (NLTK for METEOR and BLEU, the ``rouge-score``
package for ROUGE-L, pycocoevalcap's wrapper for METEOR 1.5, hand-worked cases for Extrema
and Distinct).

Each takes lists of token sequences (from :func:`.tokenize.reference_tokenize`) and returns
``(corpus value x100, per-sample values)``; per-sample values are on the 0..1 scale.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

Tokens = Sequence[str]


def meteor(hypotheses: Sequence[Tokens], references: Sequence[Tokens], wordnet):
    """NLTK ``meteor_score`` per pair, mean."""
    from nltk.translate.meteor_score import meteor_score

    values = [meteor_score([list(r)], list(h), wordnet=wordnet) for h, r in zip(hypotheses, references)]
    return _mean(values) * 100, values


def bleu(hypotheses: Sequence[Tokens], references: Sequence[Tokens], max_n: int = 4):
    """NLTK ``corpus_bleu`` with uniform weights and method3 smoothing (and per pair)."""
    from nltk.translate.bleu_score import SmoothingFunction, corpus_bleu

    weights = (1 / max_n,) * max_n
    smoothing = SmoothingFunction().method3
    corpus = corpus_bleu([[list(r)] for r in references], [list(h) for h in hypotheses],
                         weights=weights, smoothing_function=smoothing)
    return float(corpus) * 100, None


def lcs_table_length(first: Tokens, second: Tokens) -> int:
    """LCS length by the textbook dynamic-programming table."""
    lengths = [[0] * (len(second) + 1) for _ in range(len(first) + 1)]
    for i in range(1, len(first) + 1):
        for j in range(1, len(second) + 1):
            if first[i - 1] == second[j - 1]:
                lengths[i][j] = lengths[i - 1][j - 1] + 1
            else:
                lengths[i][j] = max(lengths[i - 1][j], lengths[i][j - 1])
    return lengths[len(first)][len(second)]


def rouge_l(hypotheses: Sequence[Tokens], references: Sequence[Tokens], beta: float = 1.2):
    """LCS F-measure per pair (plain loop), mean."""
    values = []
    for hypothesis, reference in zip(hypotheses, references):
        if not hypothesis or not reference:
            values.append(0.0)
            continue
        lcs = lcs_table_length(reference, hypothesis)
        precision, recall = lcs / float(len(hypothesis)), lcs / float(len(reference))
        if precision != 0 and recall != 0:
            values.append(((1 + beta ** 2) * precision * recall) / float(recall + beta ** 2 * precision))
        else:
            values.append(0.0)
    return _mean(values) * 100, values


def extrema(hypotheses: Sequence[Tokens], references: Sequence[Tokens], vectors):
    """Vector Extrema per pair with a plain numpy loop (``vectors``: a WordVectors)."""
    keyed, unknown = vectors.keyed, vectors.unknown

    def extreme(tokens):
        if not tokens:
            return np.zeros(keyed.vector_size, dtype=np.float64)
        rows = np.array([keyed[w] if w in keyed.key_to_index else unknown for w in tokens])
        largest, smallest = rows.max(axis=0), rows.min(axis=0)
        chosen = [hi if (lo > 0 or hi > abs(lo)) else lo for hi, lo in zip(largest, smallest)]
        return np.array(chosen, dtype=np.float64)

    values = []
    for hypothesis, reference in zip(hypotheses, references):
        a, b = extreme(hypothesis), extreme(reference)
        norms = np.linalg.norm(a) * np.linalg.norm(b)
        values.append(float(np.dot(a, b) / norms) if norms > 0 else 0.0)
    return _mean(values) * 100, values


def distinct(hypotheses: Sequence[Tokens], n: int, drop_last: bool = False):
    """Unique n-grams / all n-grams over all responses, with Python sets."""
    seen, total = set(), 0
    for tokens in hypotheses:
        stop = len(tokens) - n + (0 if drop_last else 1)
        for i in range(stop):
            seen.add(tuple(tokens[i:i + n]))
            total += 1
    return (len(seen) / total * 100 if total else 0.0), None


def _mean(values: Sequence[float]) -> float:
    import math

    return math.fsum(values) / len(values) if values else 0.0
