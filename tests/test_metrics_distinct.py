"""Distinct-n: corpus-level unique / all n-grams; ESConv's drop-the-last-n-gram as an option."""
from __future__ import annotations

import numpy as np
import pytest

from escbench.harness.errors import ConfigError
from escbench.harness.registry import Sample
from escbench.plugins.metrics.distinct import Distinct


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


def test_hand_worked_values_over_three_responses():
    # Tokens: i am fine . | i am sad | you are fine. Unigrams 10, distinct {i am fine . sad you
    # are} 7; bigrams (i am)(am fine)(fine .)(i am)(am sad)(you are)(are fine) 7, distinct 6;
    # trigrams (i am fine)(am fine .)(i am sad)(you are fine) 4 of 4.
    result = Distinct().compute(samples_of("I am fine.", "i am sad", "You are fine"))
    assert result.scores == pytest.approx({"D-1": 70.0, "D-2": 600 / 7, "D-3": 100.0})


def test_resampled_corpus_value_counts_duplicates_in_the_total_only():
    # Positions 0, 0, 1 of "a b a b", "a c": unigrams a b a b a b a b a c: 3 distinct of 10;
    # bigrams (a b)(b a)(a b) twice and (a c): 3 of 7; trigrams (a b a)(b a b) twice: 2 of 4.
    scores = Distinct().score(samples_of("a b a b", "a c"))
    assert scores.corpus(np.array([0, 0, 1])) == pytest.approx({"D-1": 30.0, "D-2": 300 / 7, "D-3": 50.0})


def test_leave_one_out_values_are_hand_worked():
    # Without "a b a b": a c -> D-1 2/2, D-2 1/1. Without "a c": a b a b -> D-1 2/4, D-2 2/3.
    scores = Distinct(orders=(1, 2)).score(samples_of("a b a b", "a c"))
    assert scores.leave_one_out("D-1") == pytest.approx([100.0, 50.0])
    assert scores.leave_one_out("D-2") == pytest.approx([100.0, 200 / 3])


def test_empty_and_short_responses():
    result = Distinct().compute(samples_of("", "!", "hi"))
    assert result.scores == pytest.approx({"D-1": 100.0, "D-2": 0.0, "D-3": 0.0})
    assert result.per_sample["D-1"] == [None, 100.0, 100.0]
    assert Distinct().compute(samples_of("", "")).scores == {"D-1": 0.0, "D-2": 0.0, "D-3": 0.0}


def test_orders_option_chooses_the_columns():
    assert Distinct(orders=(2,)).columns == ("D-2",)
    with pytest.raises(ConfigError):
        Distinct(orders=(0,))
