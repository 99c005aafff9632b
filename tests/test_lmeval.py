"""lm-eval integration without a model: split export, the task YAMLs as lm-eval reads them,
prompt rendering, corpus aggregation through escbench's metrics, and importing lm-eval
results into the leaderboard. (tests/test_lmeval_parity.py runs lm-eval itself.)"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import escbench.plugins.lmeval as lmeval_plugin
from escbench.harness.backends.hf import HFBackend
from escbench.harness.cli import main
from escbench.harness.errors import ConfigError, DataError
from escbench.harness.plugins import get_host
from escbench.harness.registry import Sample
from escbench.harness.runner import find_split
from escbench.harness.splits import load_split, read_split_spec
from escbench.plugins.lmeval.export import example_part, split_documents
from escbench.plugins.lmeval.prompts import dialogue_as_user_message, render_prompt
from escbench.plugins.lmeval.results_import import read_lmeval_results
from escbench.plugins.lmeval.task_functions import (
    METRIC_OF_COLUMN, add_prompts, aggregation_for, load_documents, prediction_text, process_results,
)
from escbench.plugins.metrics.bleu import Bleu
from escbench.plugins.metrics.distinct import Distinct
from escbench.harness.prompts import example_to_messages, read_prompt_template
from escbench.harness.paths import resolve_project_path as resolve_prompt_path
from escbench.plugins.systems.llama import DEFAULT_SYSTEM_PROMPT

TASKS = Path(__file__).resolve().parent.parent / "tasks" / "lm_eval"
SPLIT_TASKS = {"esc_seed": "seed", "esc_esconv_test": "esconv_test", "esc_extes_test": "extes_test",
               "esc_extes_new_scenes": "extes_new_scenes"}

PREDICTIONS = [
    "It sounds like the quiet evenings are the hardest part for you.",
    "I am sorry, that sounds really hard. What helps you on those nights?",
    "It sounds like you miss her a lot.",
]
REFERENCES = [
    "The evenings without her seem to be the hardest part right now.",
    "That is a lot to carry alone. What usually helps when the nights feel long?",
    "You clearly love her and miss her routines.",
]


@pytest.fixture
def host():
    """The process-wide host with this plugin registered (a no-op once its entry point exists)."""
    host = get_host()
    if host.pm.get_plugin("lmeval") is None:
        host.register(lmeval_plugin, "lmeval", builtin=True)
    return host


@pytest.fixture
def seed_export(tmp_path, host) -> Path:
    out = tmp_path / "data" / "seed.jsonl"
    assert main(["export-split", "seed", "--out", str(out)]) == 0
    return out


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# -- export ---------------------------------------------------------------------------------
def test_export_holds_the_split_examples_in_order_with_the_llama_systems_messages(seed_export):
    data = load_split(read_split_spec(find_split(get_host(), "seed")))
    template = read_prompt_template(resolve_prompt_path(DEFAULT_SYSTEM_PROMPT))
    lines = read_lines(seed_export)
    assert [line["id"] for line in lines] == [example.id for example in data.examples]
    for line, example in zip(lines, data.examples):
        assert line["split"] == "seed"
        assert line["messages"] == example_to_messages(example, template)
        assert line["reference"] == example.reference


def test_exported_examples_hash_like_escbench_records_do(seed_export):
    import hashlib

    data = load_split(read_split_spec(find_split(get_host(), "seed")))
    digest = hashlib.sha256()
    for line in read_lines(seed_export):
        digest.update(json.dumps(example_part(line), sort_keys=True).encode())
    assert digest.hexdigest() == data.examples_sha256()


def test_export_options_limit_and_shorten_the_context(tmp_path, host):
    out = tmp_path / "short.jsonl"
    assert main(["export-split", "seed", "--out", str(out), "--limit", "3", "--max-context-turns", "1"]) == 0
    lines = read_lines(out)
    assert len(lines) == 3
    assert all([m["role"] for m in line["messages"]] == ["system", "user"] for line in lines)
    assert split_documents("seed", limit=3)[2]["id"] == lines[2]["id"]


def test_export_of_a_split_without_its_data_names_the_missing_file(tmp_path, host):
    spec = tmp_path / "absent.yaml"
    spec.write_text("split: absent\nsource: {path: nowhere/dialogues.json, format: extes}\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"nowhere/dialogues\.json"):
        split_documents(str(spec))


def test_export_model_copies_a_model_folder_and_refuses_a_non_empty_target(tmp_path, host, capsys):
    model = tmp_path / "tiny-model"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "llama"}', encoding="utf-8")
    out = tmp_path / "exported"
    assert main(["export-model", str(model), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out.resolve())
    assert (out / "config.json").read_text(encoding="utf-8") == '{"model_type": "llama"}'
    assert main(["export-model", str(model), "--out", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err


# -- the task YAMLs as lm-eval loads them ----------------------------------------------------------
def test_lm_eval_finds_every_task_and_both_groups():
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(TASKS), include_defaults=False)
    expected = set(SPLIT_TASKS) | {f"{task}_chat" for task in SPLIT_TASKS} | {"escbench", "escbench_chat"}
    assert set(manager.all_tasks) == expected
    assert set(manager.all_groups) == {"escbench", "escbench_chat"}


@pytest.mark.parametrize("task", sorted(SPLIT_TASKS))
def test_task_yamls_wire_escbench_functions_for_every_column(task):
    from lm_eval.tasks._yaml_loader import load_yaml

    for name, family, text_field in ((task, "escbench", "prompt"), (f"{task}_chat", "chat", "dialogue")):
        config = load_yaml(TASKS / f"{name}.yaml")
        assert config["metadata"]["escbench_split"] == SPLIT_TASKS[task]
        assert config["metadata"]["escbench_prompt"] == family
        assert config["doc_to_text"] == text_field
        assert config["custom_dataset"].__name__ == "load_documents"
        assert config["generation_kwargs"]["until"] == [] and config["generation_kwargs"]["do_sample"] is False
        columns = [entry["metric"] for entry in config["metric_list"]]
        assert columns == list(METRIC_OF_COLUMN)
        for entry in config["metric_list"]:
            assert entry["aggregation"].__name__ == f"escbench_{METRIC_OF_COLUMN[entry['metric']]}_{entry['metric']}"
            assert entry["higher_is_better"] is (not entry["metric"].startswith("lex:"))


def test_chat_tasks_send_the_filled_system_prompt_as_the_description():
    from lm_eval.tasks._yaml_loader import load_yaml

    assert load_yaml(TASKS / "esc_seed_chat.yaml")["description"] == "system_prompt"
    assert load_yaml(TASKS / "esc_seed.yaml").get("description") in (None, "")


# -- documents and prompts ----------------------------------------------------------------------
def tiny_tokenizer(chat_template: str | None):
    """A real (word-level) fast tokenizer, optionally with a chat template."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.WordLevel({"[UNK]": 0, "</s>": 1}, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, unk_token="[UNK]", eos_token="</s>")
    tokenizer.chat_template = chat_template
    return tokenizer


TEMPLATE = ("{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}</{{ m['role'] }}>\n{% endfor %}"
            "{% if add_generation_prompt %}<assistant>{% endif %}")
MESSAGES = [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "I lost my job."},
            {"role": "assistant", "content": "I am sorry."}, {"role": "user", "content": "Thanks."}]


@pytest.mark.parametrize("chat_template", [TEMPLATE, None], ids=["chat-template", "transcript"])
def test_prompt_is_the_one_escbenchs_hf_backend_renders(chat_template):
    tokenizer = tiny_tokenizer(chat_template)
    backend = HFBackend()
    backend.model, backend.tokenizer = object(), tokenizer  # loaded: render() uses this tokenizer
    assert render_prompt(MESSAGES, tokenizer) == backend.render(MESSAGES)


def test_without_a_tokenizer_the_prompt_is_the_transcript():
    assert render_prompt(MESSAGES, None) == (
        "System: Be kind.\nUser: I lost my job.\nAssistant: I am sorry.\nUser: Thanks.\nAssistant:")


def test_chat_user_message_lists_the_turns_by_speaker():
    assert dialogue_as_user_message(MESSAGES, "Talk:\n{dialogue}\nGo.") == (
        "Talk:\nSeeker: I lost my job.\nSupporter: I am sorry.\nSeeker: Thanks.\nGo.")


def test_documents_load_as_an_lm_eval_test_split_with_prompt_fields(seed_export):
    dataset = load_documents("seed.jsonl", escbench_data_dir=str(seed_export.parent), version=1.0)
    documents = list(dataset["test"])
    lines = read_lines(seed_export)
    assert [d["id"] for d in documents] == [line["id"] for line in lines]
    first = documents[0]
    assert first["prompt_form"] == "transcript"  # no tokenizer named
    assert first["prompt"] == render_prompt(lines[0]["messages"], None)
    assert first["system_prompt"] == lines[0]["messages"][0]["content"]
    assert lines[0]["messages"][1]["content"] in first["dialogue"]


def test_missing_documents_name_the_export_command(tmp_path):
    with pytest.raises(DataError, match=r"escbench export-split seed --out .*seed\.jsonl"):
        load_documents("seed.jsonl", escbench_data_dir=str(tmp_path))


def test_replies_are_cut_at_transcript_stops_only_for_transcript_prompts():
    text = "  I hear you.\nUser: and more"
    assert prediction_text(text, "transcript") == "I hear you."
    assert prediction_text(text, "chat_template") == "I hear you.\nUser: and more"


# -- scoring ----------------------------------------------------------------------------------------
def scored_items() -> list[dict]:
    documents = add_prompts([{"id": f"d{i}:1", "reference": ref, "strategy": None, "messages": MESSAGES}
                             for i, ref in enumerate(REFERENCES)], None)
    return [process_results(doc, [f" {pred} "])["B-4"] for doc, pred in zip(documents, PREDICTIONS)]


def samples() -> list[Sample]:
    return [Sample(id=f"d{i}:1", prediction=p, reference=r) for i, (p, r) in enumerate(zip(PREDICTIONS, REFERENCES))]


def test_process_results_gives_every_column_the_stripped_sample():
    documents = add_prompts([{"id": "d:1", "reference": "ref", "strategy": "Questions", "messages": MESSAGES}], None)
    per_column = process_results(documents[0], ["  a reply \n"])
    assert set(per_column) == set(METRIC_OF_COLUMN)
    assert per_column["D-2"] == {"id": "d:1", "prediction": "a reply", "reference": "ref", "strategy": "Questions"}


def test_bleu_is_aggregated_over_the_corpus_like_escbench_not_averaged(host):
    corpus = Bleu().compute(samples())
    aggregated = aggregation_for("B-4")(scored_items())
    assert aggregated == corpus.scores["B-4"]
    assert abs(aggregated - sum(corpus.per_sample["B-4"]) / 3) > 1e-3


def test_distinct_counts_unique_ngrams_over_all_replies(host):
    corpus = Distinct().compute(samples())
    for column in ("D-1", "D-2", "D-3"):
        assert aggregation_for(column)(scored_items()) == corpus.scores[column]
    # "it sounds like" opens two replies: the corpus D-3 is below the mean of per-reply values
    assert corpus.scores["D-3"] < sum(corpus.per_sample["D-3"]) / 3


def test_every_offline_column_equals_escbench_scoring(host):
    from escbench.harness.scoring import score_samples

    expected = score_samples(samples(), [("rouge-l", {}), ("toxicity-lexicon", {})], host.metrics).scores
    for column, value in expected.items():
        assert aggregation_for(column)(scored_items()) == value


def test_unknown_column_is_a_config_error():
    with pytest.raises(ConfigError, match="Strat-Acc"):
        aggregation_for("Strat-Acc")


# -- importing lm-eval results ---------------------------------------------------------------------
def lmeval_results(data_dir: Path, task: str = "esc_seed", n: int = 3, chat_template: str | None = None,
                   scores: dict[str, float] | None = None, metadata: dict | None = None) -> dict:
    """An lm-eval 0.4.13 results document (the fields the importer reads) for one task."""
    scores = scores or {"B-4": 1.5, "D-2": 64.0, "METEOR": 10.25}
    family = "chat" if task.endswith("_chat") else "escbench"
    results = {"alias": task, "name": task, "sample_len": n}
    for column, value in scores.items():
        results[f"{column},none"] = value
        results[f"{column}_stderr,none"] = "N/A"
    return {
        "results": {task: results}, "group_subtasks": {task: []},
        "configs": {task: {
            "task": task, "dataset_kwargs": {"split_file": "seed.jsonl"},
            "generation_kwargs": {"until": [], "do_sample": False, "temperature": 0.0, "max_gen_toks": 16},
            "metadata": {"version": 1.0, "escbench_split": "seed", "escbench_prompt": family,
                         "pretrained": "/models/SmolLM2-135M-Instruct", "escbench_data_dir": str(data_dir),
                         **(metadata or {})}}},
        "versions": {task: 1.0}, "n-shot": {task: 0},
        "higher_is_better": {task: {c: not c.startswith("lex:") for c in scores}},
        "n-samples": {task: {"original": 42, "effective": n}},
        "config": {"model": "hf", "model_args": {"pretrained": "/models/SmolLM2-135M-Instruct"},
                   "batch_size": "1", "limit": float(n), "torch_seed": 1234},
        "date": 1795628654.5, "lm_eval_version": "0.4.13", "transformers_version": "5.24.0",
        "model_name": "/models/SmolLM2-135M-Instruct", "chat_template": chat_template,
        "chat_template_sha": None, "system_instruction_sha": None, "fewshot_as_multiturn": None,
        "total_evaluation_time_seconds": "47.5",
    }


def write_json(path: Path, document: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_lm_eval_results_become_an_escbench_record(seed_export, tmp_path):
    path = write_json(tmp_path / "lm" / "results_1.json", lmeval_results(seed_export.parent))
    [record] = read_lmeval_results(path)
    assert record["system"]["name"] == "lm-eval/SmolLM2-135M-Instruct"
    assert record["system"]["config"]["model_args"] == {"pretrained": "/models/SmolLM2-135M-Instruct"}
    assert record["split"]["name"] == "seed" and record["split"]["n_examples"] == 3
    assert record["scores"] == {"B-4": 1.5, "D-2": 64.0, "METEOR": 10.25}
    assert record["score_meta"]["D-2"] == {"metric": "distinct", "higher_is_better": True}
    assert record["generation"]["max_new_tokens"] == 16 and record["generation"]["do_sample"] is False
    assert record["created_at"].startswith("2026-11-25T")
    expected = load_split(read_split_spec(find_split(get_host(), "seed")), limit=3).examples_sha256()
    assert record["split"]["examples_sha256"] == expected


def test_a_metric_lm_eval_could_not_compute_is_a_metric_error(seed_export, tmp_path):
    document = lmeval_results(seed_export.parent, scores={"B-4": 1.5, "METEOR": math.nan})
    [record] = read_lmeval_results(write_json(tmp_path / "r.json", document))
    assert record["scores"] == {"B-4": 1.5}
    assert "METEOR" in record["metric_errors"]["meteor"]


def test_chat_prompt_runs_get_their_own_system_name_or_the_one_given(seed_export, tmp_path):
    chat = lmeval_results(seed_export.parent, task="esc_seed_chat", chat_template="{{ messages }}")
    [record] = read_lmeval_results(write_json(tmp_path / "chat.json", chat))
    assert record["system"]["name"] == "lm-eval/SmolLM2-135M-Instruct/chat-prompt"
    named = lmeval_results(seed_export.parent, metadata={"escbench_system": "smol-lmeval"})
    [record] = read_lmeval_results(write_json(tmp_path / "named.json", named))
    assert record["system"]["name"] == "smol-lmeval"


def test_escbench_prompt_tasks_run_with_a_chat_template_are_refused(seed_export, tmp_path):
    path = write_json(tmp_path / "twice.json", lmeval_results(seed_export.parent, chat_template="{{ x }}"))
    with pytest.raises(DataError, match="esc_seed_chat"):
        read_lmeval_results(path)


def test_other_json_files_are_not_lm_eval_results(tmp_path):
    assert read_lmeval_results(write_json(tmp_path / "key.json", {"annotators": []})) is None
    other_task = lmeval_results(tmp_path, metadata={"escbench_split": None})
    assert read_lmeval_results(write_json(tmp_path / "other.json", other_task)) == []


def test_leaderboard_collects_lm_eval_results_beside_escbench_records(seed_export, tmp_path, host):
    from escbench.harness.results import SCHEMA
    from escbench.harness.collect import collect_records
    from escbench.leaderboard.tables import leaderboard_tables

    folder = tmp_path / "results"
    write_json(folder / "lm" / "results_2026.json", lmeval_results(seed_export.parent))
    write_json(folder / "llama__seed.json", {
        "schema": SCHEMA, "created_at": "2026-11-25T10:00:00+00:00", "system": {"name": "llama", "config": {}},
        "split": {"name": "seed", "n_examples": 3}, "generation": {}, "scores": {"B-4": 1.25, "D-2": 60.0},
        "score_meta": {}, "metric_errors": {}, "counts": {"examples": 3}})
    records, sources = collect_records([folder])
    assert sorted(r["system"]["name"] for r in records) == ["llama", "lm-eval/SmolLM2-135M-Instruct"]
    assert sources[[r["system"]["name"] for r in records].index("llama")].name == "llama__seed.json"
    [table] = leaderboard_tables(records, sources, columns=["B-4", "D-2"])
    assert {table.values[row]["B-4"] for row in table.rows} == {1.5, 1.25}
