"""ROUGE-L as nlg-eval / the ESConv code compute it: LCS F-measure with beta = 1.2.

Per response: ``P = LCS/len(hyp)``, ``R = LCS/len(ref)`` (the max over references; one here),
``F = (1 + beta^2) P R / (R + beta^2 P)``, 0 when P or R is 0 (so an empty side scores 0
instead of failing). Corpus value: the mean, x100.

Not the ``rouge-score`` package's number: that one reports F1 (beta = 1, weighting P and R
equally), tokenizes by replacing non-alphanumerics with spaces and may stem, so its
ROUGE-L differs from this one on the same texts.

The LCS length is computed bit-parallel (Hyyro 2004): one integer's bits stand for the
reference positions, so each hypothesis token costs a few integer operations rather than
a pass over the reference.
"""
from __future__ import annotations

from typing import ClassVar, Sequence

from escbench.harness.registry import Sample
from escbench.harness.resampling import MeanScores

from .base import CorpusMetric
from .tokenize import tokenize

BETA = 1.2


def lcs_length(first: Sequence[str], second: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token sequences."""
    if len(second) > len(first):
        first, second = second, first
    if not second:
        return 0
    masks: dict[str, int] = {}
    for position, token in enumerate(first):
        masks[token] = masks.get(token, 0) | (1 << position)
    full = (1 << len(first)) - 1
    row = full
    for token in second:
        match = masks.get(token)
        if match:
            low = row & match
            row = (row + low) | (row - low)
            row &= full
    return len(first) - bin(row).count("1")


def rouge_l(hypothesis: Sequence[str], reference: Sequence[str], beta: float = BETA) -> float:
    """ROUGE-L F-measure (0..1) of one tokenized hypothesis against one reference."""
    if not hypothesis or not reference:
        return 0.0
    lcs = lcs_length(reference, hypothesis)
    precision = lcs / float(len(hypothesis))
    recall = lcs / float(len(reference))
    if precision == 0 or recall == 0:
        return 0.0
    return ((1 + beta ** 2) * precision * recall) / float(recall + beta ** 2 * precision)


class RougeL(CorpusMetric):
    """ROUGE-L (LCS F-measure, beta 1.2) per response, mean x100."""

    name: ClassVar[str] = "rouge-l"
    description: ClassVar[str] = ("ROUGE-L: LCS F-measure with beta=1.2 per response "
                                  "(nlg-eval convention), mean x100")
    columns: ClassVar[Sequence[str]] = ("R-L",)

    def __init__(self, beta: float = BETA):
        self.beta = float(beta)

    def score(self, samples: Sequence[Sample]) -> MeanScores:
        return MeanScores({"R-L": [rouge_l(tokenize(s.prediction), tokenize(s.reference),
                                           self.beta) for s in samples]})
