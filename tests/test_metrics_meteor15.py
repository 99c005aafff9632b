"""The Java METEOR 1.5 variant (needs Java and the jar from PyPI pycocoevalcap)."""
from __future__ import annotations

import importlib.util
import shutil

import numpy as np
import pytest

from escbench.harness.errors import MetricUnavailableError
from escbench.harness.registry import Sample
from escbench.plugins.metrics import meteor15
from escbench.plugins.metrics.meteor15 import Meteor15

needs_java = pytest.mark.skipif(
    shutil.which("java") is None or importlib.util.find_spec("pycocoevalcap") is None,
    reason="needs Java and `pip install --no-deps pycocoevalcap` (skipped visibly)")


def test_without_java_the_message_says_how_to_get_it(monkeypatch, tmp_path):
    meteor15._stop()
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MetricUnavailableError, match="needs Java"):
        Meteor15().compute([Sample("a", "x", "y")])


@pytest.mark.slow
@needs_java
def test_scores_segments_and_the_corpus_aggregate():
    samples = [Sample("a", "a cat was sitting on the mat", "the cat sat on the mat"),
               Sample("b", "", "nothing to compare"),
               Sample("c", "it ||| breaks\nlines", "it breaks lines"),
               Sample("d", "the cat sat on the mat", "the cat sat on the mat")]
    scores = Meteor15().score(samples)
    segments = scores.per_sample["METEOR-1.5"]
    assert segments[1] == 0.0
    assert 0 < segments[0] < segments[3] <= 100.0
    assert segments[2] > 50  # separators and newlines are cleaned out of the line protocol
    corpus = scores.corpus()["METEOR-1.5"]
    assert min(segments) < corpus < max(segments)
    # Re-aggregating all statistics in order gives the same corpus value.
    assert scores.corpus(np.arange(4))["METEOR-1.5"] == pytest.approx(corpus)
    assert scores.corpus(np.array([3, 3, 3, 3]))["METEOR-1.5"] == pytest.approx(segments[3])


@pytest.mark.slow
@needs_java
def test_equals_pycocoevalcaps_own_meteor_wrapper_on_the_same_pairs():
    from pycocoevalcap.meteor.meteor import Meteor as CocoMeteor

    from escbench.plugins.metrics.synthetic import reply_pairs

    pairs = reply_pairs(25, seed=4) + [("the cat sat on the mat", "a cat was sitting on the mat")]
    ours = Meteor15().score([Sample(str(i), h, r) for i, (h, r) in enumerate(pairs)])
    wrapper = CocoMeteor()
    try:
        corpus, segments = wrapper.compute_score({i: [r] for i, (_, r) in enumerate(pairs)},
                                                 {i: [h] for i, (h, _) in enumerate(pairs)})
    finally:
        del wrapper
    assert ours.per_sample["METEOR-1.5"] == pytest.approx([s * 100 for s in segments], abs=1e-9)
    assert ours.corpus()["METEOR-1.5"] == pytest.approx(corpus * 100, abs=1e-9)
    assert len(set(segments)) > 10
