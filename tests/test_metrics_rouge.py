"""ROUGE-L: LCS F-measure with beta 1.2 (nlg-eval / ESConv), bit-parallel LCS."""
from __future__ import annotations

import random

import pytest

from harness.registry import Sample
from plugins.metrics import reference
from plugins.metrics.rouge import RougeL, lcs_length, rouge_l
from plugins.metrics.synthetic import reply_pairs
from plugins.metrics.tokenize import tokenize


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
        assert lcs_length(first, second) == reference.lcs_table_length(first, second)


def test_lcs_of_long_texts():
    first = ["w%d" % (i % 97) for i in range(3000)]
    assert lcs_length(first, first) == 3000
    assert lcs_length(first, first[::2]) == 1500


def test_metric_equals_the_plain_implementation_on_generated_pairs():
    pairs = reply_pairs(300, seed=8)
    result = RougeL().compute([Sample(str(i), h, r) for i, (h, r) in enumerate(pairs)])
    corpus, per_sample = reference.rouge_l([tokenize(h) for h, _ in pairs], [tokenize(r) for _, r in pairs])
    assert abs(result.scores["R-L"] - corpus) <= 1e-9
    assert max(abs(a - b * 100) for a, b in zip(result.per_sample["R-L"], per_sample)) <= 1e-9


@pytest.mark.parametrize("hypothesis, reference_text, expected", [
    ("", "a reference", 0.0), ("a hypothesis", "", 0.0), ("", "", 0.0),
    ("word", "word", 1.0), ("!!", "??", 0.0), ("très bien", "très bien", 1.0),
])
def test_edge_cases_have_defined_values(hypothesis, reference_text, expected):
    assert rouge_l(tokenize(hypothesis), tokenize(reference_text)) == pytest.approx(expected)
