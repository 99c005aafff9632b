"""The student systems and their format: prompt rendering, targets, parsing generations
(strategy tag present, missing, unknown), errors naming the setting to fix, and (slow) real
generation with SmolLM2 plus a tiny random LoRA / adaption-prompt adapter made here."""
from __future__ import annotations

import json

import pytest

from escbench.harness.catalogs import load_strategy_catalog
from escbench.harness.data import Example, Turn
from escbench.harness.errors import SystemUnavailableError
from escbench.harness.registry import GenerationSettings
from escbench.plugins.chatpal.student import STUDENT_SYSTEMS, ChatPalStudent, AugESCStudent, default_adapter_dir
from escbench.plugins.chatpal.student_format import (
    context_messages, fit_messages, format_target, parse_output, render_context, training_pair,
)

EXAMPLE = Example(
    dialogue_id="d1", turn_index=3, reference="ref", strategy="Emotional Validation", scene="Job Loss",
    description="Laid off last week.",
    context=(Turn("user", "I lost my job."), Turn("ai", "That is a lot to take in.", "Empathetic Statements"),
             Turn("user", "I feel like a failure.")),
)
EXTES = load_strategy_catalog("extes")


# -- parsing ----------------------------------------------------------------------
@pytest.mark.parametrize("generated, expected", [
    ("[Emotional Validation] It makes sense to feel that way.", ("Emotional Validation", "It makes sense to feel that way.")),
    ("[EV]: It makes sense.", ("Emotional Validation", "It makes sense.")),
    ("  [affirmation]\nYou did well.", ("Affirmation", "You did well.")),
    ("It makes sense to feel that way.", (None, "It makes sense to feel that way.")),
    ("[Mind Reading] I know what you think.", (None, "I know what you think.")),
    ("[] Hello there.", (None, "Hello there.")),
    ("[Affirmation]", ("Affirmation", "")),
    ("I said [Affirmation] in the middle.", (None, "I said [Affirmation] in the middle.")),
    ("", (None, "")),
])
def test_parse_output_splits_the_tag_from_the_reply(generated, expected):
    assert parse_output(generated, EXTES) == expected


def test_parse_output_uses_the_named_catalog():
    assert parse_output("[Question] What happened?", "esconv") == ("Question", "What happened?")
    assert parse_output("[Question] What happened?", "extes") == (None, "What happened?")


def test_format_target_round_trips_through_parse_output():
    target = format_target("Offer Hope", "  Things can get better.  ")
    assert target == "[Offer Hope] Things can get better."
    assert parse_output(target, EXTES) == ("Offer Hope", "Things can get better.")


def test_format_target_without_strategy_is_the_bare_reply():
    assert format_target("Offer Hope", "Things can get better.", with_strategy=False) == "Things can get better."
    assert format_target(None, "Hi.") == "Hi."


# -- prompt -----------------------------------------------------------------------
def test_context_messages_fill_the_prompt_and_leave_strategies_out():
    messages = context_messages(EXAMPLE, with_strategy=True)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert "square brackets" in messages[0]["content"]
    assert "Topic: Job Loss" in messages[0]["content"] and "Situation: Laid off last week." in messages[0]["content"]
    assert messages[2]["content"] == "That is a lot to take in."


def test_students_without_strategy_prediction_get_no_tag_instruction():
    assert "square brackets" not in context_messages(EXAMPLE, with_strategy=False)[0]["content"]


def test_turns_with_scene_overrides_render_like_an_example():
    assert context_messages(EXAMPLE.context, scene="Job Loss", description="Laid off last week.") == context_messages(EXAMPLE)


def test_transcript_rendering_without_a_tokenizer():
    text = render_context(EXAMPLE, template="Be kind.")
    assert text == ("System: Be kind.\nUser: I lost my job.\nAssistant: That is a lot to take in.\n"
                    "User: I feel like a failure.\nAssistant:")


def test_training_pair_without_chat_template_joins_with_a_space_and_ends_with_eos():
    class PlainTokenizer:
        chat_template = None
        eos_token = "</s>"

    prompt, completion = training_pair(EXAMPLE, "Emotional Validation", "That makes sense.", PlainTokenizer(), template="Be kind.")
    assert prompt.endswith("Assistant:")
    assert completion == " [Emotional Validation] That makes sense.</s>"


def test_every_student_is_registered_with_its_strategy_setting():
    assert {cls.name: cls.with_strategy for cls in STUDENT_SYSTEMS} == {
        "augesc": False, "augesc+dri": False, "chatpal-w/o-dri": True, "chatpal": True}


# -- errors -----------------------------------------------------------------------
def test_missing_adapter_names_the_adapter_setting(tmp_path):
    with pytest.raises(SystemUnavailableError, match=r"system 'chatpal': setting adapter='.*nothing'"):
        ChatPalStudent(adapter=str(tmp_path / "nothing")).prepare()


def test_default_adapter_place_is_in_the_cache_with_a_safe_name(monkeypatch, tmp_path):
    monkeypatch.setenv("ESCBENCH_CACHE", str(tmp_path))
    assert default_adapter_dir("chatpal-w/o-dri") == tmp_path / "adapters" / "chatpal-w-o-dri"
    with pytest.raises(SystemUnavailableError, match="the default adapter folder; `escbench train` writes to its --out"):
        ChatPalStudent().prepare()


def _fake_adapter(folder):
    folder.mkdir()
    (folder / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 4}))
    return str(folder)


def test_a_hub_id_as_base_model_says_how_to_point_at_a_local_copy(tmp_path):
    student = AugESCStudent(adapter=_fake_adapter(tmp_path / "a"), base_model="HuggingFaceTB/SmolLM2-135M")
    with pytest.raises(SystemUnavailableError, match=r"setting base_model='HuggingFaceTB/SmolLM2-135M'.*local path"):
        student.prepare()


def test_vllm_backend_without_vllm_names_the_backend_setting(tmp_path):
    pytest.importorskip("escbench.harness.backends.vllm")
    try:
        import vllm  # noqa: F401
        pytest.skip("vllm is installed here")
    except ImportError:
        pass
    student = ChatPalStudent(adapter=_fake_adapter(tmp_path / "a"), backend="vllm")
    with pytest.raises(SystemUnavailableError, match=r"setting backend='vllm'.*pip install vllm.*backend='hf'"):
        student.prepare()


# -- real model (slow) ---------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_adapters(tmp_path_factory):
    """A random-init LoRA (r=4, B not zero so it changes outputs) and adaption-prompt adapter for SmolLM2."""
    import torch
    from peft import AdaptionPromptConfig, LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from escbench.harness.models import resolve_model

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("adapters")
    configs = {
        "lora": LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False,
                           task_type="CAUSAL_LM"),
        "adaption": AdaptionPromptConfig(adapter_len=4, adapter_layers=1, task_type="CAUSAL_LM"),
    }
    paths = {}
    for kind, config in configs.items():
        base = AutoModelForCausalLM.from_pretrained(resolve_model("smollm2"), dtype=torch.float32)
        get_peft_model(base, config).save_pretrained(folder / kind)
        paths[kind] = str(folder / kind)
        del base
    return paths


@pytest.mark.slow
def test_student_loads_the_adapter_and_records_parsed_generations(tiny_adapters):
    from peft import PeftModel

    from escbench.harness.backends.hf import HFBackend

    student = ChatPalStudent(adapter=tiny_adapters["lora"], max_context_turns=2)
    student.prepare()
    assert isinstance(student.backend.model, PeftModel)
    generations = student.generate([EXAMPLE], GenerationSettings(max_new_tokens=8))
    for generation in generations:
        assert parse_output(generation.raw, EXTES) == (generation.predicted_strategy, generation.text)
        assert generation.usage["completion_tokens"] >= 1
    # the rendered prompt is exactly what the backend sends (one definition of the format)
    messages = student.messages(EXAMPLE)
    assert render_context(EXAMPLE, student.backend.tokenizer, max_context_turns=2) == student.backend.render(messages)
    config = student.config()
    assert config["adapter"] == tiny_adapters["lora"] and len(config["adapter_sha256"]) == 64
    assert config["with_strategy"] is True and len(config["prompt_sha256"]) == 64
    # a random LoRA (B != 0) changes what the base model says
    base = HFBackend().load()
    base_reply = base.generate([messages], GenerationSettings(max_new_tokens=8))[0].raw
    assert base_reply != generations[0].raw


@pytest.mark.slow
def test_greedy_outputs_are_identical_across_batch_sizes(tiny_adapters):
    student = ChatPalStudent(adapter=tiny_adapters["lora"], max_context_turns=2)
    examples = [EXAMPLE, Example(dialogue_id="d2", turn_index=1, reference="", context=(Turn("user", "Hi, rough day."),)),
                Example(dialogue_id="d3", turn_index=1, reference="", context=(Turn("user", "My dog died this morning and I can't stop crying."),))]
    one = student.generate(examples, GenerationSettings(max_new_tokens=8, batch_size=1))
    three = student.generate(examples, GenerationSettings(max_new_tokens=8, batch_size=3))
    assert [g.raw for g in one] == [g.raw for g in three]


@pytest.mark.slow
def test_an_adaption_prompt_adapter_loads_and_generates(tiny_adapters):
    student = AugESCStudent(adapter=tiny_adapters["adaption"], max_context_turns=1)
    student.prepare()
    generation = student.generate([EXAMPLE], GenerationSettings(max_new_tokens=4))[0]
    assert generation.usage["completion_tokens"] >= 1


@pytest.mark.slow
def test_fit_messages_drops_the_oldest_turns_to_fit_the_budget(tiny_adapters):
    from transformers import AutoTokenizer

    from escbench.harness.models import resolve_model

    tokenizer = AutoTokenizer.from_pretrained(resolve_model("smollm2"))
    long_context = tuple(Turn("user" if i % 2 == 0 else "ai", f"turn number {i} " * 10) for i in range(9))
    messages = context_messages(long_context, template="Be kind.")
    fitted = fit_messages(messages, tokenizer, max_prompt_tokens=120)
    assert fitted[0] == messages[0] and fitted[-1] == messages[-1]
    assert len(fitted) < len(messages)
    assert len(tokenizer(render_context(long_context, tokenizer, template="Be kind.", max_prompt_tokens=120),
                         add_special_tokens=False)["input_ids"]) <= 120
