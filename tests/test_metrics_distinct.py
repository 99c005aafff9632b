"""Distinct-n: corpus-level unique / all n-grams; ESConv's drop-the-last-n-gram as an option."""
from __future__ import annotations

import numpy as np
import pytest

from harness.errors import ConfigError
from harness.registry import Sample
from plugins.metrics import reference
from plugins.metrics.distinct import Distinct
from plugins.metrics.synthetic import reply_pairs
from plugins.metrics.tokenize import tokenize


def samples_of(*predictions):
    return [Sample(str(i), text, "unused") for i, text in enumerate(predictions)]


def test_hand_worked_values():
    # unigrams a b a b a c: 3 distinct of 6; bigrams (a b) (b a) (a b) (a c): 3 of 4;
    # trigrams (a b a) (b a b): 2 of 2.
    result = Distinct().compute(samples_of("a b a b", "a c"))
    assert result.scores == pytest.approx({"D-1": 50.0, "D-2": 75.0, "D-3": 100.0})
    assert result.per_sample["D-2"] == pytest.approx([200 / 3, 100.0])
    assert result.per_sample["D-3"] == pytest.approx([100.0, None])


def test_compat_flag_drops_the_last_ngram_of_every_response():
    # ESConv's loop: unigrams a b a + a: 2 of 4; bigrams (a b) (b a) only: 2 of 2;
    # trigrams (a b a): 1 of 1.
    result = Distinct(compat_drop_last=True).compute(samples_of("a b a b", "a c"))
    assert result.scores == pytest.approx({"D-1": 50.0, "D-2": 100.0, "D-3": 100.0})
    assert Distinct(compat_drop_last="true").compat_drop_last is True
    with pytest.raises(ConfigError, match="compat_drop_last"):
        Distinct(compat_drop_last="maybe")


@pytest.mark.parametrize("drop_last", [False, True])
def test_equals_the_plain_implementation_on_generated_replies(drop_last):
    predictions = [h for h, _ in reply_pairs(300, seed=6)]
    result = Distinct(compat_drop_last=drop_last).compute(samples_of(*predictions))
    for n in (1, 2, 3):
        expected, _ = reference.distinct([tokenize(p) for p in predictions], n, drop_last)
        assert abs(result.scores[f"D-{n}"] - expected) <= 1e-9


def test_resampled_corpus_value_counts_duplicates_in_the_total_only():
    predictions = [h for h, _ in reply_pairs(40, seed=1)]
    scores = Distinct().score(samples_of(*predictions))
    indices = np.random.default_rng(5).integers(0, 40, size=40)
    for n in (1, 2, 3):
        expected, _ = reference.distinct([tokenize(predictions[i]) for i in indices], n)
        assert scores.corpus(indices)[f"D-{n}"] == pytest.approx(expected, abs=1e-9)


def test_empty_and_short_responses():
    result = Distinct().compute(samples_of("", "!", "hi"))
    assert result.scores == pytest.approx({"D-1": 100.0, "D-2": 0.0, "D-3": 0.0})
    assert result.per_sample["D-1"] == [None, 100.0, 100.0]
    assert Distinct().compute(samples_of("", "")).scores == {"D-1": 0.0, "D-2": 0.0, "D-3": 0.0}


def test_orders_option_chooses_the_columns():
    assert Distinct(orders=(2,)).columns == ("D-2",)
    with pytest.raises(ConfigError):
        Distinct(orders=(0,))
