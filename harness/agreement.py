"""Fleiss' kappa (Fleiss 1971) for human ratings: agreement of several raters beyond chance.

``table[i][j]`` counts the raters who put item i in category j; every item needs the same
number of raters n >= 2. With ``P_i = (sum_j table[i][j]^2 - n) / (n (n - 1))``, ``P`` the
mean of the ``P_i``, ``p_j`` the share of all ratings in category j and ``Pe = sum_j p_j^2``:
``kappa = (P - Pe) / (1 - Pe)``; the same value as
``statsmodels.stats.inter_rater.fleiss_kappa(table)``. When every rating falls in one
category (``Pe = 1``) kappa is 0/0; escbench reports 1.0 there (complete agreement),
where statsmodels returns NaN.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from escbench.harness.errors import DataError

HUMAN_SCALE = (0, 1, 2, 3)


def ratings_to_table(ratings: Sequence[Sequence[int]],
                     categories: Iterable[int] = HUMAN_SCALE) -> np.ndarray:
    """Items x raters ratings -> items x categories counts (the paper's 0-3 scale by default).

    Raises DataError naming the item and rater of a rating outside ``categories``.
    """
    categories = list(categories)
    column = {category: j for j, category in enumerate(categories)}
    table = np.zeros((len(ratings), len(categories)), dtype=np.int64)
    for item, item_ratings in enumerate(ratings):
        for rater, rating in enumerate(item_ratings):
            if rating not in column:
                raise DataError(f"rating {rating!r} is not one of {categories}",
                                where=f"item {item}, rater {rater}")
            table[item, column[rating]] += 1
    return table


def fleiss_kappa(table: Sequence[Sequence[int]] | np.ndarray) -> float:
    """Fleiss' kappa of an items x categories count table (see the module docstring).

    Raises DataError when there are no items, fewer than two raters, or items rated by
    different numbers of raters.
    """
    counts = np.asarray(table, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[0] == 0:
        raise DataError("Fleiss' kappa needs a non-empty items x categories table")
    raters = counts.sum(axis=1)
    n = raters[0]
    uneven = np.flatnonzero(raters != n)
    if uneven.size:
        raise DataError(f"every item needs the same number of raters: item 0 has {n:g}, "
                        f"item {uneven[0]} has {raters[uneven[0]]:g}")
    if n < 2:
        raise DataError(f"Fleiss' kappa needs at least two raters per item (got {n:g})")
    agreement = ((counts ** 2).sum(axis=1) - n) / (n * (n - 1))
    observed = agreement.mean()
    shares = counts.sum(axis=0) / counts.sum()
    expected = (shares ** 2).sum()
    if expected >= 1.0:
        return 1.0
    return float((observed - expected) / (1 - expected))
