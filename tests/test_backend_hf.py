"""escbench.harness.backends.hf: batched, seeded, stoppable generation with a local causal LM.

Model-loading tests share one loaded SmolLM2 through the backend's process-level cache.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from escbench.harness.backends.hf import HFBackend
from escbench.harness.errors import ConfigError
from escbench.harness.models import resolve_model
from escbench.harness.registry import GenerationSettings

SYSTEM = {"role": "system", "content": "You are a caring listener."}
CONVERSATIONS = [
    [SYSTEM, {"role": "user", "content": "Hi."}],
    [SYSTEM, {"role": "user", "content": "I lost my job last week and I do not know how to tell my family."}],
    [
        SYSTEM,
        {"role": "user", "content": "My exams start next month."},
        {"role": "assistant", "content": "That sounds stressful. How are you preparing?"},
        {"role": "user", "content": "Badly. I cannot focus at all and keep putting revision off."},
    ],
    [SYSTEM, {"role": "user", "content": "I feel lonely since I moved to a new city."}],
]


@pytest.fixture
def backend():
    return HFBackend().load()


def test_importing_the_backend_does_not_import_torch():
    probe = "import sys, escbench.harness.backends.hf; print('torch' in sys.modules, 'transformers' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False False"


def test_unknown_dtype_is_a_config_error_naming_the_choices():
    with pytest.raises(ConfigError, match="float32"):
        HFBackend(dtype="int3")


def test_missing_adapter_folder_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="adapter_config.json"):
        HFBackend(adapter=str(tmp_path)).load()


@pytest.mark.slow
def test_batched_greedy_output_equals_one_at_a_time(backend):
    one_by_one = backend.generate(CONVERSATIONS, GenerationSettings(max_new_tokens=24, batch_size=1))
    batched = backend.generate(CONVERSATIONS, GenerationSettings(max_new_tokens=24, batch_size=4))
    assert [o.text for o in batched] == [o.text for o in one_by_one]
    assert [o.usage for o in batched] == [o.usage for o in one_by_one]
    assert len({o.usage["prompt_tokens"] for o in batched}) == 4


@pytest.mark.slow
def test_usage_counts_prompt_and_generated_tokens(backend):
    settings = GenerationSettings(max_new_tokens=12)
    output = backend.generate(CONVERSATIONS[1:2], settings)[0]
    prompt_ids = backend.tokenizer(backend.render(CONVERSATIONS[1]), add_special_tokens=False)["input_ids"]
    assert output.usage["prompt_tokens"] == len(prompt_ids)
    assert 0 < output.usage["completion_tokens"] <= 12


@pytest.mark.slow
def test_stop_string_ends_the_reply_before_it(backend):
    settings = GenerationSettings(max_new_tokens=32)
    full = backend.generate(CONVERSATIONS[1:2], settings)[0]
    words = full.text.split()
    assert len(words) > 6
    stop = " " + words[5]
    expected = full.text[: full.text.index(stop)].strip()
    stopped = backend.generate(CONVERSATIONS[1:2], settings, stop=[stop])[0]
    assert stopped.text == expected
    assert stop not in stopped.text
    assert stopped.usage["completion_tokens"] < full.usage["completion_tokens"]


@pytest.mark.slow
def test_sampling_with_the_same_seed_is_reproducible(backend):
    def sample(seed):
        settings = GenerationSettings(do_sample=True, temperature=1.0, top_p=0.95, max_new_tokens=16, seed=seed, batch_size=2)
        return [o.text for o in backend.generate(CONVERSATIONS[1:], settings)]

    first = sample(seed=7)
    backend.generate(CONVERSATIONS[:1], GenerationSettings(do_sample=True, seed=99, max_new_tokens=4))
    assert sample(seed=7) == first
    assert sample(seed=8) != first


@pytest.mark.slow
def test_progress_reports_examples_finished_after_each_batch(backend):
    done = []
    backend.generate(CONVERSATIONS + CONVERSATIONS[:1], GenerationSettings(max_new_tokens=2, batch_size=2), progress=done.append)
    assert done == [2, 4, 5]


@pytest.mark.slow
def test_model_without_chat_template_gets_a_role_transcript(tmp_path):
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(resolve_model("smollm2"))
    tokenizer.chat_template = None
    tokenizer.save_pretrained(tmp_path)
    (tmp_path / "chat_template.jinja").unlink(missing_ok=True)
    tiny = LlamaConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                       num_key_value_heads=1, vocab_size=len(tokenizer), max_position_embeddings=256)
    LlamaForCausalLM(tiny).save_pretrained(tmp_path)

    transcript_backend = HFBackend(model=str(tmp_path)).load()
    assert transcript_backend.render(CONVERSATIONS[2]) == (
        "System: You are a caring listener.\nUser: My exams start next month.\n"
        "Assistant: That sounds stressful. How are you preparing?\n"
        "User: Badly. I cannot focus at all and keep putting revision off.\nAssistant:"
    )
    outputs = transcript_backend.generate(CONVERSATIONS, GenerationSettings(max_new_tokens=8))
    assert all("\nUser:" not in o.text for o in outputs)
    assert all(o.usage["completion_tokens"] <= 8 for o in outputs)


@pytest.mark.slow
def test_non_causal_model_is_rejected_with_its_type(tmp_path):
    from transformers import ViTConfig, ViTModel

    ViTModel(ViTConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)).save_pretrained(tmp_path)
    with pytest.raises(ConfigError, match="'vit' model, not a causal"):
        HFBackend(model=str(tmp_path)).load()


def _lora_adapter(model, folder):
    from peft import LoraConfig, get_peft_model

    get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"])).save_pretrained(folder)
    return str(folder)


@pytest.mark.slow
def test_adapter_for_the_same_base_loads_as_a_peft_model(tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(resolve_model("smollm2"))
    adapted = HFBackend(adapter=_lora_adapter(base, tmp_path / "adapter")).load()
    assert isinstance(adapted.model, PeftModel)
    # A fresh LoRA adds zero, so it must not change greedy output.
    settings = GenerationSettings(max_new_tokens=8)
    plain = HFBackend().load().generate(CONVERSATIONS[:1], settings)
    assert adapted.generate(CONVERSATIONS[:1], settings)[0].text == plain[0].text


@pytest.mark.slow
def test_adapter_made_for_another_base_is_a_config_error(tmp_path):
    from transformers import LlamaConfig, LlamaForCausalLM

    other = LlamaForCausalLM(LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                         num_attention_heads=4, num_key_value_heads=2, vocab_size=1000))
    adapter = _lora_adapter(other, tmp_path / "other-adapter")
    with pytest.raises(ConfigError, match="does not fit model"):
        HFBackend(adapter=adapter).load()


@pytest.mark.slow
def test_8bit_loading_generates_on_this_device():
    pytest.importorskip("bitsandbytes")
    quantized = HFBackend(load_8bit=True).load()
    assert quantized.key.load_8bit
    output = quantized.generate(CONVERSATIONS[:1], GenerationSettings(max_new_tokens=4))[0]
    assert output.text


def test_a_repetition_penalty_that_is_not_positive_is_a_config_error():
    with pytest.raises(ConfigError, match="repetition_penalty=0.0 must be > 0"):
        HFBackend(repetition_penalty=0.0)


@pytest.mark.slow
def test_repetition_penalty_decodes_as_transformers_generate_does():
    import torch

    penalised = HFBackend(repetition_penalty=1.5).load()
    plain = HFBackend().load()
    settings = GenerationSettings(max_new_tokens=32, batch_size=1)
    ours = [o.text for o in penalised.generate(CONVERSATIONS, settings)]
    reference = []
    for conversation in CONVERSATIONS:
        inputs = penalised.tokenizer(penalised.render(conversation), return_tensors="pt",
                                     add_special_tokens=not penalised.has_chat_template).to(penalised.model.device)
        with torch.inference_mode():
            out = penalised.model.generate(**inputs, max_new_tokens=32, do_sample=False, repetition_penalty=1.5,
                                           pad_token_id=penalised.tokenizer.pad_token_id)
        reference.append(penalised.tokenizer.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True))
    assert ours == reference
    assert ours != [o.text for o in plain.generate(CONVERSATIONS, settings)]
