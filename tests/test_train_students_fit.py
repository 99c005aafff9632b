"""Students know what they were trained on: the k-sweep from one DRI file, the card's
training facts, systems that refuse a card fitting another system, whole-model students, the
README's expand -> dri -> train flow, and one truncation rule for training and inference.

Real SmolLM2 (and a tiny random LLaMA) on CPU, one or two optimizer steps per student.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from fake_openai_server import FakeServer
from escbench.harness.cli import main
from escbench.harness.data import Dialogue, Example, Turn
from escbench.harness.errors import SystemUnavailableError
from escbench.harness.loaders import load_dialogues, write_jsonl
from escbench.harness.paths import TASKS_DIR
from escbench.harness.registry import GenerationSettings
from escbench.plugins.chatpal.train.card import read_card
from escbench.plugins.chatpal.train.settings import TrainSettings
from escbench.plugins.chatpal.train.trainer import train_student
from escbench.plugins.chatpal.student import AugESCStudent, ChatPalNoDRIStudent, ChatPalStudent

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_torch_thread")]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Two seed dialogues and a DRI file with 2 labelled alternatives per supporter turn of the
    first one (its last turn: one labelled, one not)."""
    folder = tmp_path_factory.mktemp("fit-data")
    seeds = load_dialogues(TASKS_DIR / "seed" / "seed_dialogues.json").dialogues[:2]
    lines = []
    turns = seeds[0].supporter_turn_indices()
    for index in turns:
        turn = seeds[0].turns[index]
        second = None if index == turns[-1] else "Affirmation"
        lines.append(json.dumps({
            "dialogue_id": seeds[0].id, "turn_index": index,
            "original": {"text": turn.text, "strategy": turn.strategy},
            "alternatives": [{"text": "That sounds really hard to carry.", "strategy": "Emotional Validation"},
                             {"text": "You have handled a lot already.", "strategy": second}]}))
    dri = folder / "dri.jsonl"
    dri.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"train": write_jsonl(seeds, folder / "train.jsonl"), "dri": dri, "supporter_turns": len(turns)}


def settings(out: Path, data: Path, **overrides) -> TrainSettings:
    values = dict(base="smollm2", data=[str(data)], out=out, max_len=192, micro_batch=1, effective_batch=1,
                  max_steps=1, save_steps=100, eval_steps=100, valid_fraction=0, progress=False)
    return TrainSettings(**{**values, **overrides})


@pytest.fixture(scope="module")
def sweep(tmp_path_factory, files) -> dict[int, Path]:
    """Students k=0 and k=1 from the one DRI file, and one without DRI."""
    root = tmp_path_factory.mktemp("sweep")
    outs = {k: train_student(settings(root / f"k{k}", files["train"], dri=str(files["dri"]), dri_k=k)).out
            for k in (0, 1)}
    outs[-1] = train_student(settings(root / "no-dri", files["train"])).out
    return outs


def test_the_card_records_data_hashes_dri_file_k_tags_and_method(sweep, files):
    card = read_card(sweep[1])
    training = card["training"]
    assert training["method"] == "lora" and training["with_strategy"] is True
    assert training["datasets"] == [{"path": str(files["train"].resolve()), "kind": "dialogues",
                                     "sha256": hashlib.sha256(files["train"].read_bytes()).hexdigest()}]
    assert training["dri"] == {"path": str(files["dri"].resolve()), "lines": files["supporter_turns"],
                               "sha256": hashlib.sha256(files["dri"].read_bytes()).hexdigest(), "k": 1, "file_k": 2}
    assert training["dri_k"] == 1 and "left out" in training["unlabeled_alternatives"]
    stats = card["data_stats"]
    assert stats["dri_pairs"] == files["supporter_turns"]  # one labelled alternative per turn at k=1
    assert stats["dri_alternatives_unused"] == files["supporter_turns"]
    k0 = read_card(sweep[0])
    assert k0["training"]["dri"]["k"] == 0 and k0["data_stats"]["dri_pairs"] == 0
    assert read_card(sweep[-1])["training"]["dri"] is None
    prompt = card["prompt_format"]
    assert (prompt["truncation"], prompt["max_len"], prompt["max_prompt_tokens"]) == ("drop-oldest-turns", 192, 128)


def test_unlabelled_alternatives_are_counted_in_the_card(tmp_path, files):
    card = train_student(settings(tmp_path / "all", files["train"], dri=str(files["dri"]))).card
    assert card["data_stats"]["dri_unlabeled"] == 1 and card["data_stats"]["dri_unlabeled_left_out"] == 1
    assert card["data_stats"]["dri_pairs"] == 2 * files["supporter_turns"] - 1


def test_student_configs_carry_dri_k_from_the_card(sweep):
    assert ChatPalStudent(adapter=str(sweep[1])).config()["dri_k"] == 1
    assert ChatPalStudent(adapter=str(sweep[0])).config()["dri_k"] == 0
    assert ChatPalNoDRIStudent(adapter=str(sweep[-1])).config()["dri_k"] is None


@pytest.mark.parametrize("system, student, fits", [
    (ChatPalStudent, -1, "chatpal-w/o-dri"),
    (ChatPalNoDRIStudent, 1, "chatpal"),
    (AugESCStudent, -1, "chatpal-w/o-dri"),
])
def test_a_system_refuses_a_student_trained_for_another_and_names_it(sweep, system, student, fits):
    with pytest.raises(SystemUnavailableError, match=f"load it with system '{fits}'"):
        system(adapter=str(sweep[student])).prepare()


def test_a_card_with_another_truncation_rule_is_refused(sweep, tmp_path):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(sweep[-1], old, ignore=shutil.ignore_patterns("checkpoints"))
    card = json.loads((old / "training_card.json").read_text())
    card["prompt_format"]["truncation"] = "left"
    (old / "training_card.json").write_text(json.dumps(card))
    with pytest.raises(SystemUnavailableError, match="truncation 'left'.*'drop-oldest-turns'"):
        ChatPalNoDRIStudent(adapter=str(old)).prepare()


LONG = Dialogue(
    id="long-night",
    scene="Work Stress",
    description="A nurse on night shifts cannot sleep during the day and snaps at her children.",
    turns=tuple(
        Turn("user", f"Night {i}: I came home at seven, lay awake until noon and then the kids were back from school.")
        if i % 2 == 0 else
        Turn("ai", f"That is round {i} of broken sleep; no wonder everything feels heavier.", "Reflective Statements")
        for i in range(12)
    ) + (Turn("ai", "Could a fixed sleep window with blackout curtains help?", "Suggest Options"),),
)


def test_training_and_inference_prompts_are_token_identical_for_a_long_dialogue(sweep):
    from escbench.plugins.chatpal.train.collate import PromptFormat, encode_pairs
    from escbench.plugins.chatpal.train.data import dialogue_pairs

    card = read_card(sweep[-1])
    fmt = PromptFormat(True, card["prompt_format"]["system_prompt"], card["prompt_format"]["max_len"],
                       card["prompt_format"]["max_prompt_tokens"])
    student = ChatPalNoDRIStudent(adapter=str(sweep[-1]))
    student.prepare()
    tokenizer = student.backend.tokenizer
    pair = dialogue_pairs(LONG)[-1]
    encoded = encode_pairs([pair], tokenizer, fmt)
    assert encoded.truncated == 1 and encoded.shortened == 0  # the long context was cut
    feature = encoded.features[0]
    target = sum(label != -100 for label in feature["labels"])
    training_prompt = feature["input_ids"][:-target]
    inference_text = student.backend.render(student.messages(pair.context))
    inference_prompt = tokenizer(inference_text, add_special_tokens=not student.backend.has_chat_template)["input_ids"]
    assert training_prompt == inference_prompt
    assert len(inference_prompt) <= 128 and LONG.description in inference_text
    assert "Night 0:" not in inference_text and "Night 10:" in inference_text


def test_a_full_fine_tuned_model_loads_in_a_student_system(tmp_path, files):
    from transformers import AutoModelForCausalLM, LlamaConfig

    from escbench.harness.models import resolve_model
    from escbench.plugins.chatpal.train.model import load_tokenizer

    tiny = tmp_path / "tiny-llama"
    tokenizer = load_tokenizer(str(resolve_model("smollm2")))
    config = LlamaConfig(num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2, hidden_size=64,
                         intermediate_size=128, vocab_size=len(tokenizer), max_position_embeddings=256)
    AutoModelForCausalLM.from_config(config).save_pretrained(tiny)
    tokenizer.save_pretrained(tiny)
    out = train_student(settings(tmp_path / "full", files["train"], base=str(tiny), method="full")).out
    student = ChatPalNoDRIStudent(adapter=str(out))
    student.prepare()
    generation = student.generate([Example(dialogue_id="d", turn_index=1, reference="",
                                           context=(Turn("user", "I cannot sleep."),))],
                                  GenerationSettings(max_new_tokens=4))[0]
    assert generation.usage["completion_tokens"] >= 1
    config = student.config()
    assert config["base_model"] == str(out) and config["adapter"] is None and len(config["model_sha256"]) == 64


def test_the_readme_flow_trains_on_the_expansion_with_its_dri_file(tmp_path):
    """expand -> dri on its dialogues -> train --data the expansion --dri that file (README)."""
    expand, dri = tmp_path / "expand", tmp_path / "dri"
    with FakeServer() as server:
        assert main(["expand", "--teacher-url", server.url, "--out", str(expand), "--scenes", "Academic Stress",
                     "--distribution", "uniform", "--per-scene", "1"]) == 0
        assert main(["dri", "--data", str(expand / "dialogues.json"), "--k", "2", "--limit", "1",
                     "--teacher-url", server.url, "--out", str(dri)]) == 0
    assert main(["train", "--data", str(expand / "dialogues.json"), "--dri", str(dri / "dri.jsonl"), "--dri-k", "1",
                 "--out", str(tmp_path / "student"), "--max-len", "192", "--max-steps", "1", "--micro-batch", "1",
                 "--effective-batch", "1", "--valid-fraction", "0", "--no-progress"]) == 0
    card = read_card(tmp_path / "student")
    assert card["data_stats"]["dri_pairs"] > 0 and card["training"]["dri"]["k"] == 1
    # and training on data the DRI file was not made from names both files
    seed_split = TASKS_DIR / "splits" / "seed.yaml"
    with pytest.raises(Exception, match=r"no line of the DRI file .*dri\.jsonl.*seed\.yaml"):
        train_student(settings(tmp_path / "wrong", seed_split, dri=str(dri / "dri.jsonl")))


def test_k_sweep_students_share_a_run_and_plot_with_no_options(sweep, tmp_path):
    """Students k=0 and k=1 as two labelled chatpal entries of one run file, then Figure 4."""
    pytest.importorskip("matplotlib", reason="plots need matplotlib")
    from conftest import run_cli

    run_file = tmp_path / "sweep.yaml"
    run_file.write_text("systems:\n" + "".join(
        f"  - {{name: chatpal, label: 'ChatPal k={k}', args: {{adapter: '{sweep[k]}'}}}}\n" for k in (0, 1)))
    results = tmp_path / "results"
    done = run_cli("run", "--config", str(run_file), "--splits", "seed", "--limit", "2", "--max-new-tokens", "6",
                   "--metrics", "distinct", "--out", str(results), env={"OMP_NUM_THREADS": "1"}, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    records = {p.name: json.loads(p.read_text()) for p in results.glob("*.json")}
    assert set(records) == {"ChatPal_k_0__seed.json", "ChatPal_k_1__seed.json"}
    assert [records[f"ChatPal_k_{k}__seed.json"]["system"]["config"]["dri_k"] for k in (0, 1)] == [0, 1]
    figure = tmp_path / "fig4.svg"
    done = run_cli("plot", "sweep", str(results), "--split", "seed", "--out", str(figure))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "<svg" in figure.read_text()
