"""Sampled decoding is reproducible per example: independent of batch size, batch composition
and of resuming (escbench.harness.seeding)."""
from __future__ import annotations

import math

import pytest

from escbench.harness.registry import GenerationSettings
from escbench.harness.seeding import example_seed, per_row_sampler


def test_example_seeds_are_stable_distinct_and_in_range():
    assert example_seed(0, "a") == example_seed(0, "a")
    assert len({example_seed(s, k) for s in (0, 1) for k in ("a", "b", "c")}) == 6
    assert all(0 <= example_seed(s, "x") < 2**63 for s in range(50))


def test_per_row_sampler_draws_from_the_temperature_and_top_p_distribution():
    torch = pytest.importorskip("torch")
    probs = [0.6, 0.25, 0.1, 0.05]
    rows = 4000
    logits = torch.log(torch.tensor([probs] * rows))
    ids = torch.zeros((rows, 1), dtype=torch.long)
    picks = per_row_sampler(list(range(rows)), 1.0, 1.0, "cpu")(ids, logits).argmax(-1)
    freq = [(picks == i).float().mean().item() for i in range(4)]
    for p, f in zip(probs, freq):  # 4 standard errors of a binomial proportion
        assert abs(f - p) < 4 * math.sqrt(p * (1 - p) / rows)
    # top_p=0.8 keeps the smallest set with mass >= 0.8: tokens 0 and 1, renormalised 0.6/0.85
    picks = per_row_sampler(list(range(rows)), 1.0, 0.8, "cpu")(ids, logits).argmax(-1)
    assert set(picks.tolist()) == {0, 1}
    assert abs((picks == 0).float().mean().item() - 0.6 / 0.85) < 4 * math.sqrt(0.7 * 0.3 / rows)
    # temperature 0.5 squares the odds: p0/p1 = (0.6/0.25)^2
    picks = per_row_sampler(list(range(rows)), 0.5, 1.0, "cpu")(ids, logits).argmax(-1)
    sharpened = [p**2 for p in probs]
    expected0 = sharpened[0] / sum(sharpened)
    assert abs((picks == 0).float().mean().item() - expected0) < 4 * math.sqrt(expected0 * (1 - expected0) / rows)


SYSTEM = {"role": "system", "content": "You are a caring listener."}
CONVERSATIONS = [
    [SYSTEM, {"role": "user", "content": "Hi."}],
    [SYSTEM, {"role": "user", "content": "I lost my job last week and I do not know how to tell my family."}],
    [SYSTEM, {"role": "user", "content": "My exams start next month and I cannot focus."}],
    [SYSTEM, {"role": "user", "content": "I feel lonely since I moved to a new city."}],
]


@pytest.mark.slow
def test_sampled_output_does_not_depend_on_batch_size_or_composition():
    from escbench.harness.backends.hf import HFBackend

    backend = HFBackend(device="cpu").load()

    def sample(conversations, batch_size):
        settings = GenerationSettings(do_sample=True, temperature=1.0, top_p=0.95, max_new_tokens=12,
                                      seed=5, batch_size=batch_size)
        return [o.text for o in backend.generate(conversations, settings)]

    alone = sample(CONVERSATIONS, 1)
    assert sample(CONVERSATIONS, 4) == alone
    assert sample(CONVERSATIONS[::-1][:3], 3) == alone[::-1][:3]
    assert sample(CONVERSATIONS[1:2] + CONVERSATIONS[3:], 2) == [alone[1], alone[3]]
    assert len(set(alone)) > 1


@pytest.mark.slow
def test_a_resumed_sampled_run_equals_an_uninterrupted_one(tmp_path):
    from escbench.harness.plugins import PluginHost
    from escbench.harness.runner import RunConfig, run

    host = PluginHost()
    settings = GenerationSettings(do_sample=True, temperature=1.0, top_p=0.9, max_new_tokens=10, seed=3, batch_size=3)

    def predictions(out, limit):
        config = RunConfig(systems=[("llama", {"device": "cpu"})], splits=["seed"], metrics=[("distinct", {})],
                           settings=settings, limit=limit, out=out)
        outcome = run(config, host)
        assert outcome.errors == [], outcome.errors
        return [row for row in outcome.records], (out / "llama__seed.samples.jsonl").read_text().splitlines()

    _, whole = predictions(tmp_path / "whole", 3)
    predictions(tmp_path / "resumed", 1)  # "interrupted" after the first example
    records, resumed = predictions(tmp_path / "resumed", 3)
    assert records[0]["counts"]["cached"] == 1 and records[0]["counts"]["generated"] == 2
    import json
    assert [json.loads(line)["prediction"] for line in resumed] == [json.loads(line)["prediction"] for line in whole]
