"""Fleiss' kappa over human ratings (items x raters, categories 0-3)."""
from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss_kappa

from escbench.harness.errors import DataError
from escbench.harness.agreement import fleiss_kappa, ratings_to_table


def test_hand_worked_value():
    # Items: all three raters say 0; all say 1; one each of 0, 1, 2.
    # P_i = 1, 1, 0 -> P = 2/3; p_j = 4/9, 4/9, 1/9, 0 -> Pe = 33/81; kappa = 7/16.
    table = ratings_to_table([[0, 0, 0], [1, 1, 1], [0, 1, 2]])
    assert table.tolist() == [[3, 0, 0, 0], [0, 3, 0, 0], [1, 1, 1, 0]]
    assert fleiss_kappa(table) == pytest.approx(7 / 16, abs=1e-12)


def test_count_table_equals_statsmodels():
    table = [[4, 0, 0, 0], [0, 3, 1, 0], [1, 1, 1, 1], [0, 0, 2, 2], [0, 4, 0, 0], [2, 0, 0, 2]]
    assert fleiss_kappa(table) == pytest.approx(statsmodels_fleiss_kappa(np.array(table)), abs=1e-12)


def test_random_ratings_equal_statsmodels():
    rng = np.random.default_rng(0)
    for _ in range(200):
        items, raters = rng.integers(2, 60), rng.integers(2, 7)
        # Skewed towards agreement so kappa spreads over its range.
        truth = rng.integers(0, 4, size=items)
        noise = rng.random((items, raters)) < rng.random()
        ratings = np.where(noise, rng.integers(0, 4, size=(items, raters)), truth[:, None])
        table = ratings_to_table(ratings.tolist())
        expected = statsmodels_fleiss_kappa(table)
        if np.isnan(expected):
            continue
        assert fleiss_kappa(table) == pytest.approx(expected, abs=1e-9)


def test_complete_agreement_on_one_category_is_one():
    assert fleiss_kappa(ratings_to_table([[2, 2, 2], [2, 2, 2]])) == 1.0


def test_custom_category_list():
    table = ratings_to_table([["yes", "no"], ["yes", "yes"]], categories=["no", "yes"])
    assert table.tolist() == [[1, 1], [0, 2]]


@pytest.mark.parametrize("ratings, message", [
    ([[0, 4, 1]], "item 0, rater 1"),
])
def test_rating_outside_the_scale_names_item_and_rater(ratings, message):
    with pytest.raises(DataError, match=message):
        ratings_to_table(ratings)


@pytest.mark.parametrize("table, message", [
    ([], "non-empty"), ([[3, 0], [1, 1]], "item 1 has 2"), ([[1, 0], [0, 1]], "at least two raters"),
])
def test_unusable_tables_are_data_errors(table, message):
    with pytest.raises(DataError, match=message):
        fleiss_kappa(table)
