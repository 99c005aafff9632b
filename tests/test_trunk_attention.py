"""Decoding against one copy of each trunk's cache (escbench.harness.backends.trunk_attention).

The reference is transformers itself: each prompt generated alone, unpadded and without any
cache of ours; the shared decode must give the same logits at every step."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from escbench.harness.backends import trunk_attention  # noqa: E402
from escbench.harness.backends.prefix_sharing import generate_shared  # noqa: E402

STEPS = 4


def tiny_llama(implementation: str):
    """A random 2-layer LLaMA with grouped-query attention (4 query heads, 2 key/value heads)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, vocab_size=97, max_position_embeddings=256,
                         attn_implementation=implementation, pad_token_id=0, eos_token_id=None, bos_token_id=None)
    return LlamaForCausalLM(config).eval()


class SpaceTokenizer:
    """Prompts written as space-separated token ids (a stand-in for a real tokenizer)."""

    pad_token_id = 0

    def __call__(self, text: str, add_special_tokens: bool = False) -> dict:
        return {"input_ids": [int(part) for part in text.split()]}


def prompts() -> list[str]:
    """Prefixes of two trunks that share their first 20 tokens (so the second trunk extends
    the first one's cache), in an order that mixes the trunks within batches."""
    generator = torch.Generator().manual_seed(1)
    opening = torch.randint(1, 97, (20,), generator=generator).tolist()
    first = opening + torch.randint(1, 97, (30,), generator=generator).tolist()
    second = opening + torch.randint(1, 97, (25,), generator=generator).tolist()
    cuts = [(first, 50), (second, 45), (first, 23), (second, 31), (first, 37), (second, 22), (first, 2)]
    return [" ".join(map(str, trunk[:length])) for trunk, length in cuts]


def logits_alone(model, text: str):
    ids = torch.tensor([[int(part) for part in text.split()]])
    with torch.inference_mode():
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=STEPS,
                             min_new_tokens=STEPS, do_sample=False, output_logits=True,
                             return_dict_in_generate=True, pad_token_id=0)
    return torch.stack(out.logits, dim=1)[0]


@pytest.mark.parametrize("implementation", ["sdpa", "eager"])
@pytest.mark.parametrize("trunk_decoding", [True, False])
def test_shared_decoding_gives_each_prompts_own_logits(implementation, trunk_decoding):
    model = tiny_llama(implementation)
    texts = prompts()
    seen_caches = []

    def decode_batch(indices, prefilled):
        seen_caches.append(prefilled.cache)
        with torch.inference_mode():
            out = model.generate(**prefilled.encoded, cache=prefilled.cache, max_new_tokens=STEPS,
                                 min_new_tokens=STEPS, do_sample=False, output_logits=True,
                                 return_dict_in_generate=True, pad_token_id=0)
        logits = torch.stack(out.logits, dim=1)
        return [logits[row] for row in range(len(indices))]

    ours = generate_shared(model, SpaceTokenizer(), texts, 3, False, decode_batch, trunk_decoding=trunk_decoding)
    for text, logits in zip(texts, ours):
        reference = logits_alone(model, text)
        assert torch.equal(logits.argmax(-1), reference.argmax(-1))
        assert torch.allclose(logits, reference, atol=1e-5, rtol=1e-4), (logits - reference).abs().max()
    assert model.config._attn_implementation == implementation  # switched back after each batch
    kinds = {type(cache).__name__ for cache in seen_caches}
    if trunk_decoding:
        # Only each row's own tokens are stored: the prompt's last one and the generated ones.
        assert kinds == {"SuffixCache"}
        rows = [3, 3, 1]
        for cache, count in zip(seen_caches, rows):
            assert tuple(cache.layers[0].keys.shape) == (count, 2, STEPS, 8)
    else:
        assert kinds == {"DynamicCache"}


def test_the_model_gets_its_attention_back_when_decoding_fails():
    model = tiny_llama("sdpa")
    batch = trunk_attention.TrunkBatch([])
    with pytest.raises(ValueError):
        with trunk_attention.decoding(model, batch):
            assert model.config._attn_implementation == trunk_attention.NAME
            raise ValueError("boom")
    assert model.config._attn_implementation == "sdpa"


def test_only_models_that_dispatch_attention_through_transformers_are_switched():
    assert trunk_attention.applicable(tiny_llama("sdpa"))
    assert trunk_attention.applicable(tiny_llama("eager"))
    flash = tiny_llama("sdpa")
    flash.config._attn_implementation = "flash_attention_2"
    assert not trunk_attention.applicable(flash)
    remote = SimpleNamespace(config=SimpleNamespace(_attn_implementation="sdpa"))  # not a transformers model
    assert not trunk_attention.applicable(remote)
