"""One prefill per dialogue (escbench.harness.backends.prefix_sharing) and load-aware threads."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from escbench.harness.backends.prefix_sharing import plan, prefix_cache_order, supports
from escbench.harness.errors import ConfigError
from escbench.harness.threads import choose_threads


def test_plan_rides_prefixes_on_the_longest_prompt_and_extends_shared_prefixes():
    prompts = [[1, 2, 3], [1, 2, 3, 4, 5], [1, 2, 9, 9], [7, 7], [1, 2, 3, 4]]
    trunks = plan(prompts, min_shared=2)
    # Descending token order: [7,7] alone; [1,2,9,9]; then [1,2,3,4,5] (shares [1,2] with
    # [1,2,9,9]) carrying its prefixes [1,2,3,4] and [1,2,3].
    assert [t.tokens for t in trunks] == [[7, 7], [1, 2, 9, 9], [1, 2, 3, 4, 5]]
    assert [t.members for t in trunks] == [[3], [2], [1, 4, 0]]
    assert [(t.parent, t.shared) for t in trunks] == [(None, 0), (None, 0), (1, 2)]


def test_plan_needs_min_shared_tokens_and_keeps_one_token_to_compute():
    assert [(t.parent, t.shared) for t in plan([[1, 2, 3], [1, 2, 4]], min_shared=3)] == [(None, 0), (None, 0)]
    # [5,6] is not a prefix of... itself twice: duplicates ride on one trunk.
    trunks = plan([[5, 6], [5, 6]], min_shared=1)
    assert len(trunks) == 1 and sorted(trunks[0].members) == [0, 1]


def test_a_carried_trunk_is_ridden_and_extended():
    trunks = plan([[1, 2, 3], [1, 2, 3, 4, 9]], min_shared=2, carried=[1, 2, 3, 4, 5])
    assert [t.tokens for t in trunks] == [[1, 2, 3, 4, 5], [1, 2, 3, 4, 9]]
    assert [t.members for t in trunks] == [[0], [1]]
    assert (trunks[1].parent, trunks[1].shared) == (0, 4)


def test_every_prompt_is_planned_once_as_a_prefix_of_its_trunk():
    import random

    rng = random.Random(4)
    prompts = [[rng.randrange(3) for _ in range(rng.randrange(1, 9))] for _ in range(300)]
    trunks = plan(prompts, min_shared=2)
    members = sorted(i for t in trunks for i in t.members)
    assert members == list(range(300))
    for trunk in trunks:
        assert all(trunk.tokens[:len(prompts[i])] == prompts[i] for i in trunk.members)
        if trunk.parent is not None:
            parent = trunks[trunk.parent].tokens
            assert trunk.tokens[:trunk.shared] == parent[:trunk.shared] and trunk.shared < len(trunk.tokens)


def test_sliding_window_models_are_not_shared():
    assert supports(SimpleNamespace(config=SimpleNamespace(sliding_window=None, layer_types=None)))
    assert not supports(SimpleNamespace(config=SimpleNamespace(sliding_window=4096)))
    assert not supports(SimpleNamespace(config=SimpleNamespace(
        sliding_window=None, layer_types=["full_attention", "sliding_attention"])))


@pytest.mark.parametrize("environ, load, cores, expected", [
    ({"ESCBENCH_THREADS": "3"}, 0.0, 8, 3),
    ({"OMP_NUM_THREADS": "4"}, 9.0, 8, None),   # torch follows OMP_NUM_THREADS itself
    ({}, 0.0, 8, 8),                             # idle machine: every core
    ({}, 17.0, 2, 1),                            # overloaded: one thread
    ({}, 5.4, 16, 11),                           # 16 cores, 5.4 busy: round(10.6) = 11
    ({}, 1.5, 2, 1),
])
def test_thread_choice(environ, load, cores, expected):
    assert choose_threads(environ, load=load, cores=cores) == expected


def test_bad_thread_setting_names_the_variable():
    with pytest.raises(ConfigError, match="ESCBENCH_THREADS"):
        choose_threads({"ESCBENCH_THREADS": "many"}, load=0.0, cores=2)


@pytest.mark.slow
def test_shared_prefill_gives_the_per_example_greedy_outputs_on_seed_dialogues():
    from escbench.harness.backends.prefix_sharing import plan as plan_prompts
    from escbench.harness.paths import TASKS_DIR
    from escbench.harness.registry import GenerationSettings
    from escbench.harness.splits import load_split, read_split_spec
    from escbench.harness.prompts import example_to_messages
    from escbench.plugins.systems.llama import LlamaSystem

    examples = load_split(read_split_spec(TASKS_DIR / "splits" / "seed.yaml"), partition="test").examples
    dialogues = sorted({e.dialogue_id for e in examples})[:3]
    examples = [e for e in examples if e.dialogue_id in dialogues]
    shared, plain = LlamaSystem(share_prefix=True), LlamaSystem(share_prefix=False)
    try:
        shared.prepare()
        plain.prepare()
    except Exception as error:  # no converted model on this machine
        pytest.skip(f"SmolLM2 unavailable: {error}")
    backend = shared.backend
    # The chat-rendered prompts of one dialogue are token prefixes of each other: one
    # trunk per dialogue with full contexts; sliding windows still share a prefix.
    def tokens(turns):
        return [backend.tokenizer(backend.render(example_to_messages(e, shared.template(), turns)),
                                  add_special_tokens=False)["input_ids"] for e in examples]
    assert len(plan_prompts(tokens(None))) == len(dialogues)
    windows = plan_prompts(tokens(2))
    assert len(windows) > len(dialogues) and all(t.shared > 0 for t in windows[1:])
    settings = GenerationSettings(max_new_tokens=12, batch_size=4)
    # In calls of batch_size examples, as the runner makes them (the trunk carries over).
    ours = [g for start in range(0, len(examples), 4) for g in shared.generate(examples[start:start + 4], settings)]
    theirs = plain.generate(examples, settings)
    assert [g.raw for g in ours] == [g.raw for g in theirs]
    assert [g.usage["prompt_tokens"] for g in ours] == [g.usage["prompt_tokens"] for g in theirs]
    assert len({g.raw for g in ours}) > 1


def test_prefix_cache_order_sends_each_dialogue_in_turn_order_interleaved():
    def convo(dialogue, turns):
        return [{"role": "system", "content": "s"}, {"role": "user", "content": dialogue}] + \
            [{"role": "assistant", "content": "a"}, {"role": "user", "content": "u"}] * turns
    conversations = [convo("d1", 0), convo("d1", 1), convo("d1", 2), convo("d2", 0), convo("d2", 1),
                     convo("d3", 0)]
    # Dialogues in first-seen order take turns; each dialogue's requests shortest first.
    assert prefix_cache_order(conversations) == [0, 3, 5, 1, 4, 2]
    assert prefix_cache_order([]) == []
