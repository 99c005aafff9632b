"""The runner: records, samples, cache reuse, and isolation of failing systems and metrics."""
from __future__ import annotations

import json

import pytest

from escbench.harness import hookimpl
from escbench.harness.cache import GenerationCache, generation_key
from escbench.harness.data import Example, Turn
from escbench.harness.errors import MetricNotApplicableError, MetricUnavailableError, SystemUnavailableError
from escbench.harness.plugins import PluginHost
from escbench.harness.registry import Generation, GenerationSettings, MetricResult
from escbench.harness.results import read_record
from escbench.harness.runner import RunConfig, run


class Unreachable:
    name = "unreachable"
    description = "a system whose backend is down"

    def config(self):
        return {}

    def prepare(self):
        raise SystemUnavailableError("unreachable", "cannot connect to http://127.0.0.1:9/v1 (set base_url)")

    def generate(self, examples, settings):
        raise AssertionError("must not be called")


class NeedsJava:
    name = "needs-java"
    description = "a metric whose resource is missing"
    columns = ["J"]
    higher_is_better = True

    def compute(self, samples):
        raise MetricUnavailableError("needs-java", "java not found")


class NeedsStrategies:
    name = "needs-strategies"
    description = "a metric that only applies to strategy-predicting systems"
    columns = ["S"]
    higher_is_better = True

    def compute(self, samples):
        if not any(s.predicted_strategy for s in samples):
            raise MetricNotApplicableError("needs-strategies", "no predicted strategies")
        return MetricResult(scores={"S": 1.0})


class Extras:
    @hookimpl
    def register_systems(self):
        return [Unreachable]

    @hookimpl
    def register_metrics(self):
        return [NeedsJava, NeedsStrategies]


@pytest.fixture
def host(parrot_module):
    host = PluginHost()
    host.register(parrot_module, name="parrot")
    host.register(Extras(), name="extras")
    return host


def _config(tmp_path, **overrides):
    base = dict(systems=[("parrot", {})], splits=["parrot_mini"], metrics=[("word-count", {})],
                settings=GenerationSettings(batch_size=2), out=tmp_path)
    base.update(overrides)
    return RunConfig(**base)


def test_run_writes_a_record_and_samples_with_the_generations(host, tmp_path):
    outcome = run(_config(tmp_path), host)
    assert outcome.errors == []
    record = read_record(tmp_path / "parrot__parrot_mini.json")
    assert record["split"]["n_examples"] == 3 and record["split"]["n_dialogues"] == 2
    assert record["counts"] == {"examples": 3, "cached": 0, "generated": 3, "rejected_dialogues": 0, "empty_generations": 0}
    assert record["generation"]["batch_size"] == 2
    assert record["score_meta"]["Words"] == {"metric": "word-count", "higher_is_better": True}
    samples = [json.loads(line) for line in (tmp_path / record["samples_file"]).read_text().splitlines()]
    assert [s["id"] for s in samples] == ["pm-1:1", "pm-1:3", "pm-2:1"]
    assert samples[1]["prediction"] == "I keep looking for her on the windowsill."
    assert samples[1]["reference"] == "Looking for her there shows how much a part of your days she was."
    assert samples[1]["scores"] == {"Words": 8}
    assert record["scores"]["Words"] == pytest.approx((11 + 8 + 12) / 3)


def test_second_run_reuses_every_cached_generation(host, tmp_path):
    first = run(_config(tmp_path), host).records[0]
    second = run(_config(tmp_path), host).records[0]
    assert second["counts"]["generated"] == 0 and second["counts"]["cached"] == 3
    assert second["scores"] == first["scores"]
    assert second["split"]["examples_sha256"] == first["split"]["examples_sha256"]


def test_changed_system_args_do_not_reuse_the_cache(host, tmp_path):
    run(_config(tmp_path), host)
    record = run(_config(tmp_path, systems=[("parrot", {"prefix": "You said: "})]), host).records[0]
    assert record["counts"]["generated"] == 3
    assert record["scores"]["Words"] == pytest.approx((11 + 8 + 12) / 3 + 2)


def test_failing_system_and_metric_do_not_stop_the_others(host, tmp_path):
    config = _config(tmp_path, systems=[("unreachable", {}), ("parrot", {})],
                     metrics=[("needs-java", {}), ("word-count", {})])
    outcome = run(config, host)
    assert [r["system"]["name"] for r in outcome.records] == ["parrot"]
    assert any("unreachable" in e and "base_url" in e for e in outcome.errors)
    record = outcome.records[0]
    assert record["metric_errors"] == {"needs-java": "metric 'needs-java': java not found"}
    assert "Words" in record["scores"]


def test_missing_split_data_is_reported_and_other_splits_run(host, tmp_path, monkeypatch):
    monkeypatch.delenv("ESCBENCH_ESCONV", raising=False)
    outcome = run(_config(tmp_path, splits=["esconv_test", "parrot_mini"]), host)
    assert len(outcome.records) == 1
    assert any("ESCBENCH_ESCONV" in e for e in outcome.errors)


def test_cache_ignores_a_torn_last_line_and_appends_cleanly(tmp_path):
    example = Example("d1", 1, (Turn("user", "hi"),), "hello")
    settings = GenerationSettings()
    cache = GenerationCache(tmp_path, "sys", {"a": 1})
    key = generation_key(example, settings)
    cache.add([(key, example, Generation(text="first"))])
    with open(cache.path, "a") as handle:
        handle.write('{"key": "half-writ')  # a kill -9 in the middle of an append
    reopened = GenerationCache(tmp_path, "sys", {"a": 1})
    assert reopened.get(key).text == "first" and len(reopened) == 1
    other = Example("d1", 3, (Turn("user", "hi"),), "bye")
    reopened.add([(generation_key(other, settings), other, Generation(text="second"))])
    lines = cache.path.read_text().splitlines()
    assert [json.loads(line)["text"] for line in lines] == ["first", "second"]


def test_bad_dialogue_stops_a_strict_run_with_file_and_dialogue(host, tmp_path, bad_split_yaml):
    outcome = run(_config(tmp_path / "out", splits=[bad_split_yaml]), host)
    assert outcome.records == []
    assert any("data.json" in e and "bad-1" in e and "Telepathy" in e for e in outcome.errors)


def test_lenient_run_writes_rejects_and_scores_the_rest(host, tmp_path, bad_split_yaml):
    outcome = run(_config(tmp_path / "out", splits=[bad_split_yaml], lenient=True), host)
    assert outcome.errors == []
    assert outcome.records[0]["split"]["n_examples"] == 1
    rejects = [json.loads(line) for line in (tmp_path / "out" / "rejects" / "mine.jsonl").read_text().splitlines()]
    assert [(r["dialogue_id"], "Telepathy" in r["reason"]) for r in rejects] == [("bad-1", True)]


def test_a_metric_that_does_not_apply_is_skipped_not_failed(host, tmp_path):
    outcome = run(_config(tmp_path, metrics=[("needs-strategies", {}), ("word-count", {})]), host)
    assert outcome.errors == []
    record = outcome.records[0]
    assert record["metric_skipped"] == {"needs-strategies": "metric 'needs-strategies' skipped: no predicted strategies"}
    assert record["metric_errors"] == {} and "S" not in record["scores"]
