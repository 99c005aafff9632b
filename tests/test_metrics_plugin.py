"""The metrics plugin: registration, defaults, the Metric contract, light import, edge cases."""
from __future__ import annotations

import subprocess
import sys

import pytest

import escbench.plugins.metrics
from escbench.harness.plugins import PluginHost
from escbench.harness.registry import Metric, MetricResult, Sample
from escbench.harness.scoring import default_metric_names, score_samples

OFFLINE_DEFAULTS = {"meteor", "bleu", "rouge-l", "extrema", "distinct", "toxicity-lexicon", "strategy"}


@pytest.fixture(scope="module")
def host():
    host = PluginHost(load_entry_points=False)
    host.register(escbench.plugins.metrics, name="metrics")
    return host


def test_every_metric_is_registered_with_a_one_line_definition(host):
    names = set(host.metrics.names())
    assert OFFLINE_DEFAULTS | {"toxicity", "toxicity-detoxify", "meteor-1.5"} == names
    for name, cls, plugin in host.metrics.items():
        assert plugin == "metrics"
        assert cls.description and "\n" not in cls.description and len(cls.description) < 130
        assert cls.columns and isinstance(cls.higher_is_better, bool)
        assert isinstance(cls(), Metric)


def test_defaults_are_the_offline_metrics(host):
    assert set(default_metric_names(host.metrics)) == OFFLINE_DEFAULTS


def test_paper_columns_are_reported(host):
    columns = {c for _, cls, _ in host.metrics.items() for c in cls.columns}
    assert {"METEOR", "B-4", "R-L", "Extrema", "D-2", "D-3"} <= columns


def test_importing_the_plugin_loads_no_heavy_library():
    code = ("import sys, escbench.plugins.metrics; "
            "print(sorted(m for m in ('nltk', 'gensim', 'torch', 'transformers', 'pyarrow') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_setup_arranges_wordnet_and_reports(tmp_path, monkeypatch):
    monkeypatch.setenv("ESCBENCH_CACHE", str(tmp_path))
    done = dict(escbench.plugins.metrics.setup_resources(force=False))
    assert "copied" in done["WordNet (meteor)"]
    assert (tmp_path / "nltk_data" / "corpora" / "wordnet" / "lexnames").is_file()
    assert set(done) == {"GloVe 6B 50d", "Java (meteor-1.5)", "WordNet (meteor)"}


EDGE_SAMPLES = [
    Sample("empty-hyp", "", "I hear you."),
    Sample("empty-ref", "I hear you.", ""),
    Sample("both-empty", "", ""),
    Sample("one-word", "Okay", "Okay"),
    Sample("punctuation", "?!...", "..."),
    Sample("non-ascii", "Ça va aller, je suis là — 大丈夫", "Je suis là pour toi ✨"),
    Sample("long", "You are doing your best, and that matters. " * 400,
           "It is okay to rest when things are hard. " * 300),
]


@pytest.mark.slow
def test_default_metrics_score_every_edge_case_without_failing(host, tmp_path, monkeypatch):
    monkeypatch.setenv("ESCBENCH_CACHE", str(tmp_path))
    specs = [(name, {}) for name in default_metric_names(host.metrics) if name != "strategy"]
    scored = score_samples(EDGE_SAMPLES, specs, host.metrics)
    assert scored.errors == {}
    for column in ("METEOR", "B-4", "R-L", "Extrema", "D-1", "D-2", "D-3", "lex:Toxicity"):
        values = scored.per_sample[column]
        assert len(values) == len(EDGE_SAMPLES)
    for column in ("METEOR", "R-L", "Extrema"):
        assert scored.per_sample[column][:3] == [0.0, 0.0, 0.0]  # an empty side scores 0
        assert scored.per_sample[column][3] == pytest.approx(100.0 if column != "METEOR" else 50.0)
    assert scored.per_sample["B-4"][:3] == [0.0, 0.0, 0.0]
    assert scored.per_sample["D-2"][0] is None and scored.per_sample["D-1"][3] == 100.0
    assert all(0.0 <= v <= 100.0 for c in ("METEOR", "B-4", "R-L") for v in scored.per_sample[c])


def test_a_failing_metric_does_not_stop_the_others(host):
    scored = score_samples([Sample("a", "hello there", "hello there")],
                           [("extrema", {"vectors": "/nonexistent/vectors.txt"}), ("rouge-l", {}),
                            ("distinct", {})], host.metrics)
    assert "vectors file /nonexistent/vectors.txt not found" in scored.errors["extrema"]
    assert scored.scores["R-L"] == 100.0 and scored.scores["D-1"] == 100.0


def test_compute_returns_a_metric_result(host):
    result = host.metrics.get("rouge-l")().compute([Sample("a", "x y", "x z")])
    assert isinstance(result, MetricResult) and set(result.scores) == {"R-L"}
