"""ROUGE-L: LCS F-measure with beta 1.2 (nlg-eval / ESConv), bit-parallel LCS."""
from __future__ import annotations

import random

import pytest

from escbench.harness.registry import Sample
from escbench.plugins.metrics.rouge import RougeL, lcs_length, rouge_l
from escbench.plugins.metrics.synthetic import reply_pairs
from escbench.plugins.metrics.tokenize import tokenize


def test_hand_worked_value():
    # LCS of "a b c d" and "a c d e f" is "a c d": P = 3/4, R = 3/5.
    precision, recall = 3 / 4, 3 / 5
    expected = (1 + 1.2 ** 2) * precision * recall / (recall + 1.2 ** 2 * precision)
    assert rouge_l("a b c d".split(), "a c d e f".split()) == pytest.approx(expected, rel=1e-15)
    assert expected == pytest.approx(0.6535714285714286)


def test_beta_weights_recall_more_than_f1_does():
    # rouge-score's F1 (beta 1) would give 2PR/(P+R) = 2/3 here.
    assert rouge_l("a b".split(), "a b c d".split()) == pytest.approx(2.44 * 0.5 / (0.5 + 1.44))


def test_bit_parallel_lcs_equals_the_dynamic_programming_table():
    rng = random.Random(3)
    for _ in range(2000):
        first = [rng.choice("abcde") for _ in range(rng.randint(0, 40))]
        second = [rng.choice("abcdef") for _ in range(rng.randint(0, 40))]
        assert lcs_length(first, second) == _lcs_by_table(first, second)


def _lcs_by_table(first, second):
    """The textbook dynamic-programming LCS (a different algorithm from the bit-parallel one)."""
    table = [[0] * (len(second) + 1) for _ in range(len(first) + 1)]
    for i, a in enumerate(first, 1):
        for j, b in enumerate(second, 1):
            table[i][j] = table[i - 1][j - 1] + 1 if a == b else max(table[i - 1][j], table[i][j - 1])
    return table[-1][-1]


def test_lcs_of_long_texts():
    first = ["w%d" % (i % 97) for i in range(3000)]
    assert lcs_length(first, first) == 3000
    assert lcs_length(first, first[::2]) == 1500


class _Tokens:
    """rouge-score tokenizer interface over escbench's tokens (so both see the same words)."""

    def tokenize(self, text):
        return tokenize(text)


def test_equals_the_rouge_score_package_lcs_precision_and_recall_with_beta_1_2():
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], tokenizer=_Tokens())
    pairs = reply_pairs(300, seed=8)
    result = RougeL().compute([Sample(str(i), h, r) for i, (h, r) in enumerate(pairs)])
    expected = []
    for hypothesis, reference_text in pairs:
        lcs = scorer.score(reference_text, hypothesis)["rougeL"]  # (target, prediction)
        p, r = lcs.precision, lcs.recall
        expected.append(0.0 if p == 0 or r == 0 else (1 + 1.2 ** 2) * p * r / (r + 1.2 ** 2 * p))
    assert result.per_sample["R-L"] == pytest.approx([e * 100 for e in expected], abs=1e-9)
    assert result.scores["R-L"] == pytest.approx(sum(expected) / len(expected) * 100, abs=1e-9)
    assert len({round(e, 6) for e in expected}) > 50  # the pairs are varied, not a degenerate case


@pytest.mark.parametrize("hypothesis, reference_text, expected", [
    ("", "a reference", 0.0), ("a hypothesis", "", 0.0), ("", "", 0.0),
    ("word", "word", 1.0), ("!!", "??", 0.0), ("très bien", "très bien", 1.0),
])
def test_edge_cases_have_defined_values(hypothesis, reference_text, expected):
    assert rouge_l(tokenize(hypothesis), tokenize(reference_text)) == pytest.approx(expected)
