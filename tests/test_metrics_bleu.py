"""BLEU: NLTK corpus_bleu with method3 smoothing, from per-response counts."""
from __future__ import annotations

import math

import numpy as np
import pytest

from escbench.harness.errors import ConfigError
from escbench.harness.registry import Sample
from escbench.plugins.metrics.bleu import Bleu, bleu_counts, bleu_from_counts
from escbench.plugins.metrics.synthetic import reply_pairs
from escbench.plugins.metrics.tokenize import tokenize


def nltk_corpus_bleu(hypotheses, references, max_n=4):
    from nltk.translate.bleu_score import SmoothingFunction, corpus_bleu

    return corpus_bleu([[list(r)] for r in references], [list(h) for h in hypotheses],
                       weights=(1 / max_n,) * max_n, smoothing_function=SmoothingFunction().method3)


def test_hand_worked_counts_and_score():
    hypothesis = "the cat sat on the mat".split()
    reference = "the cat is on the mat".split()
    row = bleu_counts(hypothesis, reference, 4)
    # unigrams: the x2, cat, on, mat match (sat does not): 5 of 6; bigrams: the cat, on the,
    # the mat: 3 of 5; trigrams: on the mat: 1 of 4; 4-grams: none of 3.
    assert row == [6, 6, 5, 3, 1, 0, 6, 5, 4, 3]
    # method3: the order without a match gets 1 / (2 * 3); brevity penalty 1.
    expected = math.exp(0.25 * (math.log(5 / 6) + math.log(3 / 5) + math.log(1 / 4) + math.log(1 / 6)))
    assert bleu_from_counts(row, 4) == pytest.approx(expected, rel=1e-15)
    assert bleu_from_counts(row, 4) == nltk_corpus_bleu([hypothesis], [reference])


def test_repeated_words_are_clipped_by_the_reference():
    assert bleu_counts("the the the the".split(), "the cat".split(), 2)[2:] == [1, 0, 4, 3]


def test_short_hypothesis_gets_the_brevity_penalty():
    row = bleu_counts("the cat".split(), "the cat sat down".split(), 1)
    assert bleu_from_counts(row, 1) == pytest.approx(math.exp(1 - 4 / 2))


def test_corpus_value_equals_nltk_on_generated_pairs():
    pairs = [(tokenize(h), tokenize(r)) for h, r in reply_pairs(300, seed=2)]
    samples = [Sample(str(i), h, r) for i, (h, r) in enumerate(reply_pairs(300, seed=2))]
    for max_n in (1, 2, 3, 4):
        ours = Bleu(max_n=max_n).compute(samples).scores[f"B-{max_n}"]
        theirs = nltk_corpus_bleu([h for h, _ in pairs], [r for _, r in pairs], max_n) * 100
        assert abs(ours - theirs) <= 1e-9


def test_per_sample_values_equal_nltk_sentence_bleu():
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    texts = reply_pairs(200, seed=9)
    result = Bleu().compute([Sample(str(i), h, r) for i, (h, r) in enumerate(texts)])
    expected = [sentence_bleu([list(tokenize(r))], list(tokenize(h)),
                              smoothing_function=SmoothingFunction().method3) * 100 for h, r in texts]
    assert np.max(np.abs(np.array(result.per_sample["B-4"]) - expected)) <= 1e-9


def test_bootstrap_corpus_value_equals_nltk_on_the_resampled_examples():
    texts = reply_pairs(50, seed=4)
    scores = Bleu().score([Sample(str(i), h, r) for i, (h, r) in enumerate(texts)])
    indices = np.random.default_rng(0).integers(0, 50, size=50)
    picked = [texts[i] for i in indices]
    expected = nltk_corpus_bleu([tokenize(h) for h, _ in picked], [tokenize(r) for _, r in picked]) * 100
    assert scores.corpus(indices)["B-4"] == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("hypothesis, reference", [
    ("", "a reference"), ("a hypothesis", ""), ("", ""), ("word", "word"), ("!?", "..."),
    ("Ça va très bien", "ça va bien"), ("you are doing well " * 500, "you are doing fine " * 400),
])
def test_edge_cases_equal_nltk(hypothesis, reference):
    ours = Bleu().compute([Sample("x", hypothesis, reference)]).scores["B-4"]
    assert ours == pytest.approx(nltk_corpus_bleu([tokenize(hypothesis)], [tokenize(reference)]) * 100,
                                 abs=1e-9)


def test_max_n_names_the_column_and_is_checked():
    assert Bleu(max_n=2).columns == ("B-2",)
    with pytest.raises(ConfigError, match="max_n"):
        Bleu(max_n=5)
