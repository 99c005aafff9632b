"""METEOR: NLTK's definition, computed faster; WordNet arranged from Debian's files."""
from __future__ import annotations

import pytest

from escbench.harness.errors import MetricUnavailableError
from escbench.harness.registry import Sample
from escbench.plugins.metrics import wordnet as wordnet_setup
from escbench.plugins.metrics.meteor import Meteor, meteor
from escbench.plugins.metrics.synthetic import reply_pairs
from escbench.plugins.metrics.tokenize import tokenize


@pytest.fixture(scope="module")
def wordnet(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ESCBENCH_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield wordnet_setup.load_wordnet()


def nltk_meteor(hypothesis, reference, wordnet):
    from nltk.translate.meteor_score import meteor_score

    return meteor_score([list(reference)], list(hypothesis), wordnet=wordnet)


@pytest.mark.parametrize("hypothesis, reference, expected", [
    # 3 exact matches, one chunk: P = R = 1, penalty 0.5 * (1/3)^3.
    ("the cat sat", "the cat sat", 1 - 0.5 / 27),
    # "cats" meets "cat" at the stem stage: still one chunk of 3.
    ("the cats sat", "the cat sat", 1 - 0.5 / 27),
    # "car" meets "auto" through WordNet (car.n.01).
    ("my car broke", "my auto broke", 1 - 0.5 / 27),
    # "large" is stemmed to "larg" before the synonym stage, so "big" finds nothing:
    # 2 matches in 2 chunks, F-mean 2/3, penalty 0.5.
    ("a big dog", "a large dog", (2 / 3) * 0.5),
    ("the cat sat on the mat", "a cat was sitting on the mat", None),
    ("completely different words", "nothing shared here", 0.0),
])
def test_hand_worked_values_equal_nltk(wordnet, hypothesis, reference, expected):
    ours = meteor(tokenize(hypothesis), tokenize(reference), wordnet)
    assert ours == nltk_meteor(tokenize(hypothesis), tokenize(reference), wordnet)
    if expected is not None:
        assert ours == pytest.approx(expected, abs=1e-12)


def test_notes_reference_value(wordnet):
    # The value NOTES.md records for NLTK with this WordNet set-up.
    value = meteor("a cat was sitting on the mat".split(), "the cat sat on the mat".split(), wordnet)
    assert value == 0.6147540983606558


def test_equals_nltk_on_generated_pairs(wordnet):
    texts = reply_pairs(300, seed=5) + [("İSTANBUL ΟΔΟΣ Straße", "istanbul οδος strasse")]
    pairs = [(tokenize(h), tokenize(r)) for h, r in texts]
    theirs = [nltk_meteor(h, r, wordnet) for h, r in pairs]
    ours = [meteor(h, r, wordnet) for h, r in pairs]
    assert max(abs(a - b) for a, b in zip(ours, theirs)) <= 1e-9
    assert len(set(ours)) > 100  # the pairs really differ
    metric = Meteor().compute([Sample(str(i), h, r) for i, (h, r) in enumerate(texts)])
    assert max(abs(a - b * 100) for a, b in zip(metric.per_sample["METEOR"], theirs)) <= 1e-9


def test_metric_reports_the_mean_times_100(wordnet):
    samples = [Sample("a", "the cat sat", "the cat sat"), Sample("b", "a big dog", "a large dog")]
    result = Meteor().compute(samples)
    assert result.scores["METEOR"] == pytest.approx((1 - 0.5 / 27 + 1 / 3) / 2 * 100, abs=1e-9)
    assert result.per_sample["METEOR"] == pytest.approx([(1 - 0.5 / 27) * 100, 100 / 3])


@pytest.mark.parametrize("hypothesis, reference", [
    ("", "some reference"), ("some hypothesis", ""), ("", ""), ("...", "?!"),
])
def test_empty_or_punctuation_texts_score_zero_like_nltk(wordnet, hypothesis, reference):
    value = meteor(tokenize(hypothesis), tokenize(reference), wordnet)
    assert value == 0.0
    assert value == nltk_meteor(tokenize(hypothesis), tokenize(reference), wordnet)


def test_missing_debian_wordnet_names_the_set_up_step(tmp_path, monkeypatch):
    monkeypatch.setenv("ESCBENCH_CACHE", str(tmp_path / "cache"))
    with pytest.raises(MetricUnavailableError) as raised:
        wordnet_setup.arrange_wordnet(source=tmp_path / "no-wordnet")
    message = str(raised.value)
    assert "apt-get install -y wordnet-base wordnet-sense-index" in message
    assert "escbench setup" in message and "data.noun" in message


def test_arranged_folder_has_the_database_and_lexnames(tmp_path, monkeypatch):
    monkeypatch.setenv("ESCBENCH_CACHE", str(tmp_path))
    wordnet_setup.arrange_wordnet()
    folder = tmp_path / "nltk_data" / "corpora" / "wordnet"
    lines = (folder / "lexnames").read_text().splitlines()
    assert len(lines) == 45
    assert lines[0] == "00\tadj.all\t3" and lines[3] == "03\tnoun.Tops\t1"
    assert lines[29] == "29\tverb.body\t2" and lines[44] == "44\tadj.ppl\t3"
    debian_copy = wordnet_setup.DEBIAN_WORDNET / "data.noun"
    assert (folder / "data.noun").read_bytes() == debian_copy.read_bytes()
    assert "already arranged" in wordnet_setup.arrange_wordnet()
