"""Bootstrap intervals and the paired bootstrap test over resampled examples."""
from __future__ import annotations

import numpy as np
import pytest

from escbench.harness.errors import ConfigError
from escbench.harness.registry import Sample
from escbench.harness.resampling import MeanScores
from escbench.plugins.metrics.bleu import Bleu
from escbench.harness.resampling import confidence_intervals, paired_bootstrap, resampled_indices
from escbench.plugins.metrics.rouge import RougeL
from escbench.plugins.metrics.synthetic import reply_pairs


def test_resampling_is_seeded_and_draws_with_replacement():
    first = list(resampled_indices(50, 3, seed=4))
    again = list(resampled_indices(50, 3, seed=4))
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert all(len(draw) == 50 and len(set(draw.tolist())) < 50 for draw in first)
    assert not np.array_equal(first[0], next(resampled_indices(50, 1, seed=5)))


def test_interval_of_a_mean_matches_a_hand_computed_percentile_bootstrap():
    values = np.arange(20, dtype=float)
    interval = confidence_intervals(MeanScores({"V": values}, scale=1.0), resamples=400, seed=1)["V"]
    means = [values[i].mean() for i in resampled_indices(20, 400, seed=1)]
    assert interval.value == pytest.approx(9.5)
    assert interval.low == pytest.approx(np.percentile(means, 2.5))
    assert interval.high == pytest.approx(np.percentile(means, 97.5))
    assert interval.low < 9.5 < interval.high


def test_every_column_of_a_corpus_metric_gets_an_interval():
    pairs = reply_pairs(60, seed=3)
    scores = Bleu().score([Sample(str(i), h, r) for i, (h, r) in enumerate(pairs)])
    interval = confidence_intervals(scores, resamples=200, seed=0)["B-4"]
    assert interval.low <= interval.value <= interval.high and interval.high > interval.low


def test_paired_test_finds_no_difference_between_identical_systems():
    pairs = reply_pairs(40, seed=2)
    samples = [Sample(str(i), h, r) for i, (h, r) in enumerate(pairs)]
    result = paired_bootstrap(RougeL().score(samples), RougeL().score(samples), resamples=200)["R-L"]
    assert result.delta == 0.0 and result.p_value == 1.0


def test_paired_test_separates_a_copying_system_from_a_random_one():
    pairs = reply_pairs(40, seed=2)
    copying = [Sample(str(i), r, r) for i, (_, r) in enumerate(pairs)]
    other = [Sample(str(i), h, r) for i, (h, r) in enumerate(pairs)]
    result = paired_bootstrap(RougeL().score(copying), RougeL().score(other), resamples=300)["R-L"]
    assert result.delta > 50 and result.p_value < 0.01 and result.low > 0


def test_paired_test_needs_the_same_examples():
    short = MeanScores({"V": [1.0, 2.0]})
    with pytest.raises(ConfigError, match="same examples"):
        paired_bootstrap(short, MeanScores({"V": [1.0, 2.0, 3.0]}))


@pytest.mark.parametrize("kwargs", [{"resamples": 0}, {"confidence": 1.5}])
def test_bad_settings_are_config_errors(kwargs):
    with pytest.raises(ConfigError):
        confidence_intervals(MeanScores({"V": [1.0, 2.0]}), **kwargs)
