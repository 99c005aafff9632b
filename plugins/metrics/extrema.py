"""Vector Extrema (Forgues et al. 2014): cosine of per-dimension extreme word vectors.

A text's extrema vector takes, in each dimension, the largest value over its words when
the smallest is positive or the largest exceeds the smallest's magnitude, else the
smallest. Words missing from the vocabulary count as the mean vector (nlg-eval). The score
of a response is the cosine (in float64) of its extrema vector and the reference's; a text
without tokens has the zero vector and scores 0 (nlg-eval crashes there). Corpus value: the
mean, x100.

All texts are embedded in one pass: their word vectors are gathered into one array and
reduced per text with ``np.maximum.reduceat`` / ``np.minimum.reduceat``.
"""
from __future__ import annotations

from typing import ClassVar, Sequence

import numpy as np

from escbench.harness.registry import Sample
from escbench.harness.resampling import MeanScores

from .base import CorpusMetric
from .tokenize import tokenize
from .vectors import WordVectors, load_vectors


def extrema_vector(vectors: np.ndarray) -> np.ndarray:
    """Extrema of the rows of ``vectors`` (words x dims); zeros when there are no rows."""
    if len(vectors) == 0:
        return np.zeros(vectors.shape[1], dtype=vectors.dtype)
    largest, smallest = vectors.max(axis=0), vectors.min(axis=0)
    return np.where((smallest > 0) | (largest > np.abs(smallest)), largest, smallest)


def extrema_vectors(texts: Sequence[Sequence[str]], vectors: WordVectors,
                    cells_per_chunk: int = 2_000_000) -> np.ndarray:
    """One extrema vector per token sequence (texts x dims), vectorised: texts of similar
    length are padded with a NaN row into a texts x positions index grid, and the running
    ``np.fmax``/``np.fmin`` (which skip NaN) over positions gives each text's max and min."""
    table = vectors.table_with_padding
    padding_row = len(table) - 1
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    out = np.zeros((len(texts), table.shape[1]), dtype=table.dtype)
    order = np.argsort(lengths, kind="stable")
    order = order[lengths[order] > 0]
    start = 0
    while start < len(order):
        stop = start + 1
        # Grow the chunk while the padded grid stays within cells_per_chunk.
        while stop < len(order) and (stop - start + 1) * int(lengths[order[stop]]) <= cells_per_chunk:
            stop += 1
        chunk = order[start:stop]
        width = int(lengths[chunk[-1]])
        chunk_lengths = lengths[chunk]
        grid = np.full((len(chunk), width), padding_row, dtype=np.int64)
        flat = [w for i in chunk.tolist() for w in texts[i]]
        grid[np.arange(width)[None, :] < chunk_lengths[:, None]] = vectors.rows_of(flat)
        largest = table[grid[:, 0]]
        smallest = largest.copy()
        for position in range(1, width):
            column = table[grid[:, position]]
            np.fmax(largest, column, out=largest)
            np.fmin(smallest, column, out=smallest)
        out[chunk] = np.where((smallest > 0) | (largest > np.abs(smallest)), largest, smallest)
        start = stop
    return out


def cosine_rows(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Row-wise cosine in float64; 0 where either row is all zeros."""
    first, second = first.astype(np.float64), second.astype(np.float64)
    dots = np.einsum("ij,ij->i", first, second)
    norms = np.sqrt(np.einsum("ij,ij->i", first, first)) * np.sqrt(np.einsum("ij,ij->i", second, second))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norms > 0, dots / np.where(norms > 0, norms, 1.0), 0.0)


class Extrema(CorpusMetric):
    """Vector Extrema cosine per response (GloVe 6B 50d by default), mean x100."""

    name: ClassVar[str] = "extrema"
    description: ClassVar[str] = ("Vector Extrema: cosine of per-dimension extreme word vectors "
                                  "(GloVe 6B 50d; unknown words = mean vector), mean x100")
    columns: ClassVar[Sequence[str]] = ("Extrema",)

    def __init__(self, vectors: str | None = None):
        self.vectors_path = vectors

    def score(self, samples: Sequence[Sample]) -> MeanScores:
        vectors = load_vectors(self.vectors_path, metric=self.name)
        hypotheses = extrema_vectors([tokenize(s.prediction) for s in samples], vectors)
        references = extrema_vectors([tokenize(s.reference) for s in samples], vectors)
        return MeanScores({"Extrema": cosine_rows(hypotheses, references).tolist()})
