"""Vector Extrema: per-dimension extreme word vectors, cosine, mean (unknown words = mean vector)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from escbench.harness.errors import MetricUnavailableError
from escbench.harness.registry import Sample
from escbench.plugins.metrics.extrema import Extrema, extrema_vector, extrema_vectors
from escbench.plugins.metrics.vectors import load_vectors

VECTORS = {"good": [1.0, -2.0, 0.5], "day": [0.5, 1.0, -1.0], "bad": [-1.0, 2.0, 0.5],
           "night": [0.25, 0.5, 2.0]}


@pytest.fixture
def glove_file(tmp_path):
    path = tmp_path / "tiny.glove.txt"
    path.write_text("".join(f"{w} {' '.join(str(x) for x in v)}\n" for w, v in VECTORS.items()))
    return path


def cosine(first, second):
    return sum(a * b for a, b in zip(first, second)) / (
        math.sqrt(sum(a * a for a in first)) * math.sqrt(sum(b * b for b in second)))


def test_extrema_takes_max_unless_the_min_is_larger_in_magnitude():
    # "good day": max (1, 1, .5), min (.5, -2, -1) -> dim 0 all positive: 1; dim 1 |-2| > 1: -2;
    # dim 2 |-1| > .5: -1.
    rows = np.array([VECTORS["good"], VECTORS["day"]], dtype=np.float32)
    assert extrema_vector(rows).tolist() == [1.0, -2.0, -1.0]


def test_hand_worked_score_from_a_glove_text_file(glove_file):
    result = Extrema(vectors=str(glove_file)).compute([Sample("a", "Good day!", "bad night")])
    # "!" is unknown: the mean vector (.1875, .375, .5); it changes no dimension's extreme.
    hypothesis = [1.0, -2.0, -1.0]
    reference_vector = [-1.0, 2.0, 2.0]  # bad/night: dim 0 |-1| > .25 -> -1; dims 1, 2: max
    assert result.scores["Extrema"] == pytest.approx(cosine(hypothesis, reference_vector) * 100, abs=1e-9)


def test_unknown_words_use_the_mean_vector(glove_file):
    vectors = load_vectors(str(glove_file))
    mean = np.mean(list(VECTORS.values()), axis=0)
    assert extrema_vectors([("zzz",)], vectors)[0] == pytest.approx(mean)


def test_word2vec_text_format_with_header(tmp_path):
    path = tmp_path / "tiny.w2v.txt"
    lines = [f"{w} {' '.join(map(str, v))}\n" for w, v in VECTORS.items()]
    path.write_text(f"{len(VECTORS)} 3\n" + "".join(lines))
    result = Extrema(vectors=str(path)).compute([Sample("a", "good", "good")])
    assert result.scores["Extrema"] == pytest.approx(100.0)


def test_empty_texts_score_zero_instead_of_failing(glove_file):
    samples = [Sample("a", "", "good day"), Sample("b", "good", ""), Sample("c", "", ""),
               Sample("d", "...", "good")]
    result = Extrema(vectors=str(glove_file)).compute(samples)
    assert result.per_sample["Extrema"][:3] == [0.0, 0.0, 0.0]
    assert -100.0 <= result.per_sample["Extrema"][3] <= 100.0


def test_texts_of_very_different_lengths_in_one_batch(glove_file):
    vectors = load_vectors(str(glove_file))
    texts = [("good",) * 5000, (), ("day", "bad"), ("night",) * 3]
    expected = [extrema_vector(np.array([vectors.keyed[w] for w in t])) if t else np.zeros(3)
                for t in texts]
    assert np.array_equal(extrema_vectors(texts, vectors, cells_per_chunk=8), np.array(expected))


def test_missing_vectors_file_names_the_option(tmp_path):
    with pytest.raises(MetricUnavailableError, match="vectors=PATH"):
        Extrema(vectors=str(tmp_path / "absent.txt")).compute([Sample("a", "x", "y")])


def test_hand_worked_corpus_is_the_mean_over_pairs(glove_file):
    # Pair 1: "good day" vs "bad night" as above. Pair 2: "night" vs "good": cosine of
    # (.25, .5, 2) and (1, -2, .5) = (.25 - 1 + 1) / (sqrt(4.3125) * sqrt(5.25)).
    first = cosine([1.0, -2.0, -1.0], [-1.0, 2.0, 2.0])
    second = 0.25 / (math.sqrt(4.3125) * math.sqrt(5.25))
    result = Extrema(vectors=str(glove_file)).compute([Sample("a", "good day", "bad night"),
                                                       Sample("b", "night", "good")])
    assert result.per_sample["Extrema"] == pytest.approx([first * 100, second * 100], abs=1e-9)
    assert result.scores["Extrema"] == pytest.approx((first + second) * 50, abs=1e-9)


@pytest.mark.slow
def test_glove_50d_identical_texts_score_100_and_different_ones_less():
    result = Extrema().compute([Sample("a", "I feel much better today.", "I feel much better today."),
                                Sample("b", "The exam went badly.", "What a lovely garden.")])
    assert result.per_sample["Extrema"][0] == pytest.approx(100.0, abs=1e-9)
    assert 0 < result.per_sample["Extrema"][1] < 95
