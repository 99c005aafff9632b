"""Exact and near-duplicate detection for dialogues and responses (MinHash + LSH, no dependencies
beyond numpy).

Texts are normalised (lower case, runs of non-alphanumerics to one space). Two texts are exact
duplicates when their normalised forms are equal, near duplicates when the Jaccard similarity
of their word ``shingle``-grams reaches ``threshold``. Candidates come from MinHash signatures
(``num_perm`` universal hashes modulo the Mersenne prime 2^31-1) split into LSH bands; each
candidate's similarity is then computed exactly from the stored shingle sets, so the banding
only decides what is compared, never what is reported.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import numpy as np

MERSENNE_31 = (1 << 31) - 1
NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalize(text: str) -> str:
    return NON_ALNUM.sub(" ", text.lower()).strip()


def shingles(text: str, size: int) -> set[int]:
    """32-bit hashes of the word ``size``-grams of the normalised text (the whole text if shorter)."""
    words = normalize(text).split()
    grams = [" ".join(words[i:i + size]) for i in range(max(1, len(words) - size + 1))]
    return {int.from_bytes(hashlib.blake2b(g.encode(), digest_size=4).digest(), "big") for g in grams}


def jaccard(a: set[int], b: set[int]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def choose_bands(num_perm: int, threshold: float) -> tuple[int, int]:
    """(bands, rows) with bands*rows == num_perm whose LSH threshold (1/b)^(1/r) is the highest
    one at most 0.8 * ``threshold``, so pairs at the threshold are almost surely compared."""
    options = [(num_perm // rows, rows) for rows in range(1, num_perm + 1) if num_perm % rows == 0]
    below = [(b, r) for b, r in options if (1 / b) ** (1 / r) <= 0.8 * threshold]
    return max(below, key=lambda br: (1 / br[0]) ** (1 / br[1])) if below else (num_perm, 1)


@dataclass(frozen=True)
class Match:
    """Why a text is a duplicate: ``kind`` "exact" or "near", the earlier item and similarity."""

    kind: str
    other: str
    similarity: float


class DuplicateIndex:
    """Texts seen so far; :meth:`check` says whether a new one duplicates any of them."""

    def __init__(self, threshold: float = 0.8, shingle: int = 5, num_perm: int = 128, seed: int = 1):
        if not 0 < threshold <= 1:
            raise ValueError(f"near-duplicate threshold must be in (0, 1], got {threshold!r}")
        self.threshold, self.shingle = threshold, shingle
        rng = np.random.default_rng(seed)
        self._a = rng.integers(1, MERSENNE_31, num_perm, dtype=np.uint64)
        self._b = rng.integers(0, MERSENNE_31, num_perm, dtype=np.uint64)
        self.bands, self.rows = choose_bands(num_perm, threshold)
        self._exact: dict[str, str] = {}
        self._sets: dict[str, set[int]] = {}
        self._buckets: list[dict[bytes, list[str]]] = [{} for _ in range(self.bands)]

    def __len__(self) -> int:
        return len(self._sets)

    def _signature(self, hashed: set[int]) -> np.ndarray:
        values = np.fromiter(hashed, dtype=np.uint64, count=len(hashed)) % np.uint64(MERSENNE_31)
        # (a*x + b) mod p for every hash function and shingle; a, x < 2^31 so no uint64 overflow.
        table = (self._a[:, None] * values[None, :] + self._b[:, None]) % np.uint64(MERSENNE_31)
        return table.min(axis=1)

    def _band_keys(self, signature: np.ndarray) -> list[bytes]:
        return [signature[i * self.rows:(i + 1) * self.rows].tobytes() for i in range(self.bands)]

    def check(self, text: str) -> Match | None:
        """The first exact duplicate, else the most similar near duplicate, else None."""
        normal = normalize(text)
        if normal in self._exact:
            return Match("exact", self._exact[normal], 1.0)
        hashed = shingles(text, self.shingle)
        candidates = {other for band, key in enumerate(self._band_keys(self._signature(hashed)))
                      for other in self._buckets[band].get(key, ())}
        best: Match | None = None
        for other in sorted(candidates):
            similarity = jaccard(hashed, self._sets[other])
            if similarity >= self.threshold and (best is None or similarity > best.similarity):
                best = Match("near", other, similarity)
        return best

    def add(self, item_id: str, text: str) -> None:
        """Remember ``text`` under ``item_id`` (later texts are checked against it)."""
        hashed = shingles(text, self.shingle)
        self._exact.setdefault(normalize(text), item_id)
        self._sets[item_id] = hashed
        for band, key in enumerate(self._band_keys(self._signature(hashed))):
            self._buckets[band].setdefault(key, []).append(item_id)
