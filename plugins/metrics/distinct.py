"""Distinct-n (Li et al. 2016): corpus-level unique n-grams / all n-grams, x100.

Over all generated responses together (tokens from :mod:`.tokenize`): the number of
distinct n-grams divided by the number of n-grams, for n = 1, 2, 3; 0 when there are no
n-grams. Per-sample values are the same ratio within one response (None when it has no
n-gram).

``compat_drop_last=True`` reproduces the ESConv reference code, whose loop
``for i in range(len(tokens) - n)`` never counts the last n-gram of a response (so a
response of exactly n tokens contributes nothing). Off by default.
"""
from __future__ import annotations

from typing import ClassVar, Sequence

import numpy as np

from escbench.harness.errors import ConfigError
from escbench.harness.registry import Sample
from escbench.harness.resampling import CorpusScores

from .base import CorpusMetric, as_bool
from .tokenize import tokenize


def ngrams(tokens: Sequence[str], n: int, drop_last: bool = False) -> list:
    """The n-grams of ``tokens`` in order (without the last one when ``drop_last``); tuples,
    except that unigrams are the tokens themselves."""
    grams = list(tokens) if n == 1 else list(zip(*[tokens[i:] for i in range(n)]))
    return grams[:-1] if drop_last else grams


class DistinctScores(CorpusScores):
    """Per order: each response's n-grams. ``corpus()`` counts the union directly; for a
    resample, n-grams get integer ids once so that its distinct count is the number of ids
    owned by the responses it contains.

    Intervals use the delete-one jackknife (``interval_method``): resampling responses with
    replacement repeats their n-grams and so lowers Distinct-n, which would put a bootstrap
    interval below the value. :meth:`leave_one_out` is exact and linear in the corpus: leaving
    response i out removes its n-grams from the total and, from the distinct count, the
    n-grams that no other response has.
    """

    interval_method = "jackknife"

    def __init__(self, token_lists: Sequence[Sequence[str]], orders: Sequence[int],
                 drop_last: bool, scale: float = 100.0):
        self.columns = tuple(f"D-{n}" for n in orders)
        self.scale = scale
        self._token_lists, self._drop_last = token_lists, drop_last
        self._orders = dict(zip(self.columns, orders))
        self._whole: dict[str, tuple[int, int]] = {}
        self._ids: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, int]] = {}
        self.per_sample = {}
        for n, column in zip(orders, self.columns):
            union: set = set()
            total = 0
            per_sample = []
            for tokens in token_lists:
                grams = ngrams(tokens, n, drop_last)
                unique = set(grams)
                union |= unique  # set-to-set union reuses the stored hashes
                total += len(grams)
                per_sample.append(len(unique) / len(grams) * scale if grams else None)
            self._whole[column] = (len(union), total)
            self.per_sample[column] = per_sample

    def __len__(self) -> int:
        return len(self._token_lists)

    def _id_arrays(self, column: str):
        if column not in self._ids:
            ids: dict = {}
            n, gram_ids, totals = self._orders[column], [], []
            for tokens in self._token_lists:
                grams = ngrams(tokens, n, self._drop_last)
                gram_ids += [ids.setdefault(g, len(ids)) for g in grams]
                totals.append(len(grams))
            totals = np.array(totals, dtype=np.int64)
            owners = np.repeat(np.arange(len(totals)), totals)
            self._ids[column] = (np.array(gram_ids, dtype=np.int64), owners, totals, len(ids))
        return self._ids[column]

    def leave_one_out(self, column: str) -> np.ndarray:
        gram_ids, owners, totals, vocabulary = self._id_arrays(column)
        pairs = np.unique(np.stack([owners, gram_ids]), axis=1) if len(gram_ids) else np.zeros((2, 0), np.int64)
        holders = np.bincount(pairs[1], minlength=vocabulary)  # responses containing each n-gram
        own = np.bincount(pairs[0][holders[pairs[1]] == 1], minlength=len(self))
        distinct = vocabulary - own
        total = totals.sum() - totals
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.where(total > 0, distinct / np.maximum(total, 1) * self.scale, 0.0)
        return values.astype(np.float64)

    def corpus(self, indices: np.ndarray | None = None) -> dict[str, float]:
        out = {}
        for column in self.columns:
            if indices is None:
                distinct, total = self._whole[column]
            else:
                gram_ids, owners, totals, vocabulary = self._id_arrays(column)
                copies = np.bincount(indices, minlength=len(self))
                total = int((totals * copies).sum())
                present = np.zeros(vocabulary, dtype=bool)
                present[gram_ids[copies[owners] > 0]] = True
                distinct = int(np.count_nonzero(present))
            out[column] = distinct / total * self.scale if total else 0.0
        return out


class Distinct(CorpusMetric):
    """Distinct-1/2/3 over all responses, x100."""

    name: ClassVar[str] = "distinct"
    description: ClassVar[str] = ("Distinct-n: unique n-grams / all n-grams over all responses "
                                  "(n=1,2,3), x100; compat_drop_last=True mimics ESConv's code")
    columns: ClassVar[Sequence[str]] = ("D-1", "D-2", "D-3")

    def __init__(self, compat_drop_last: bool = False, orders: Sequence[int] = (1, 2, 3)):
        if isinstance(orders, (int, str)):
            orders = [part for part in str(orders).split(",") if part.strip()]
        if not orders or not all(str(n).strip().isdigit() and int(n) >= 1 for n in orders):
            raise ConfigError(f"metric 'distinct': orders must be positive integers (got {orders!r})")
        self.compat_drop_last = as_bool(compat_drop_last, self.name, "compat_drop_last")
        self.orders = tuple(int(n) for n in orders)
        self.columns = tuple(f"D-{n}" for n in self.orders)

    def score(self, samples: Sequence[Sample]) -> DistinctScores:
        return DistinctScores([tokenize(s.prediction) for s in samples], self.orders,
                              self.compat_drop_last)
