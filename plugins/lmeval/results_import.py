"""lm-eval results JSON -> escbench results records (one per escbench task in the file).

An lm-eval run of the tasks in ``tasks/lm_eval`` writes ``results_<time>.json``; each task's
config there carries ``metadata.escbench_split`` (and lm-eval adds the model arguments and
``--metadata`` to it). The record made from it has the schema of :mod:`escbench.harness.results`,
with the lm-eval run as the system:

* ``system.name``: ``--metadata '{"escbench_system": NAME}'`` if given, else
  ``lm-eval/<model folder name>`` (``.../chat-prompt`` for the ``esc_*_chat`` tasks);
  ``system.config``: the model, its arguments, the task, the prompt family and chat settings.
* ``split``: the escbench split, the number of examples lm-eval scored, and their
  ``examples_sha256`` computed like escbench's from the exported JSONL when it is still there.
* ``scores``: the ``COLUMN,none`` values; NaN (a metric that could not run) goes to
  ``metric_errors``. There is no samples file.
"""
from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from escbench.harness.errors import DataError

PLUGIN = "lmeval"
FILTER = "none"


def looks_like_lmeval(document: Any) -> bool:
    """True for the top level of an lm-eval results JSON."""
    return (isinstance(document, dict) and isinstance(document.get("results"), dict)
            and isinstance(document.get("configs"), dict)
            and ("lm_eval_version" in document or isinstance(document.get("config"), dict)))


def read_lmeval_results(path: Path) -> list[dict] | None:
    """Records for the escbench tasks of the lm-eval results file ``path``; None when the file
    is not an lm-eval results JSON; [] when it holds no escbench task."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not looks_like_lmeval(document):
        return None
    records = []
    for task, task_config in document["configs"].items():
        metadata = (task_config or {}).get("metadata") or {}
        if metadata.get("escbench_split") and task in document["results"]:
            records.append(task_record(document, task, path))
    return records


def task_record(document: dict, task: str, path: Path) -> dict:
    """The escbench results record of one task of an lm-eval results document."""
    from escbench.harness.cache import stable_hash
    from escbench.harness.results import SCHEMA

    from .task_functions import METRIC_OF_COLUMN

    task_config = document["configs"][task]
    metadata = task_config.get("metadata") or {}
    prompt_family = metadata.get("escbench_prompt", "escbench")
    _refuse_double_template(document, task, prompt_family, path)
    run_config = document.get("config") or {}
    counts = (document.get("n-samples") or {}).get(task) or {}
    n_examples = int(counts.get("effective", 0))
    documents_path = _documents_path(task_config)
    scores, errors = {}, {}
    for key, value in document["results"][task].items():
        column, _, filter_name = key.partition(",")
        if filter_name != FILTER or column.endswith("_stderr") or not isinstance(value, (int, float)):
            continue
        metric = METRIC_OF_COLUMN.get(column, column)
        if isinstance(value, float) and math.isnan(value):
            errors[metric] = f"lm-eval reported no value for {column} (the metric could not run there; see its log)"
            continue
        scores[column] = float(value)
    directions = (document.get("higher_is_better") or {}).get(task) or {}
    system_config = _system_config(document, task, prompt_family)
    return {
        "schema": SCHEMA,
        "created_at": _created_at(document, path),
        "system": {"name": _system_name(document, metadata, prompt_family), "plugin": PLUGIN, "args": {},
                   "config": system_config, "config_sha256": stable_hash(system_config)},
        "split": {"name": metadata["escbench_split"], "lm_eval_task": task,
                  "source": str(documents_path) if documents_path else None,
                  "n_examples": n_examples, "n_available": counts.get("original"),
                  "examples_sha256": _examples_sha256(documents_path, n_examples),
                  "limit": run_config.get("limit")},
        "generation": _generation(task_config, run_config),
        "metrics": [{"name": m, "args": {}} for m in dict.fromkeys(METRIC_OF_COLUMN.get(c, c) for c in scores)],
        "scores": scores,
        "score_meta": {c: {"metric": METRIC_OF_COLUMN.get(c, c), "higher_is_better": bool(directions.get(c, True))}
                       for c in scores},
        "metric_errors": errors,
        "metric_skipped": {},
        "counts": {"examples": n_examples, "generated": n_examples, "cached": 0},
        "timings": {"total_s": _number(document.get("total_evaluation_time_seconds"))},
        "usage": {},
        "environment": {"escbench": None, "python": None, "platform": None,
                        "packages": {"lm_eval": document.get("lm_eval_version"),
                                     "transformers": document.get("transformers_version")},
                        "git_commit": document.get("git_hash")},
        "samples_file": None,
        "imported_from": {"tool": "lm-eval", "path": str(path), "task": task},
    }


def _refuse_double_template(document: dict, task: str, prompt_family: str, path: Path) -> None:
    if prompt_family == "escbench" and document.get("chat_template"):
        raise DataError(
            f"task {task} was run with --apply_chat_template, which wraps escbench's already templated "
            f"prompt in the chat template a second time: re-run it without that flag, or run {task}_chat",
            path=str(path))


def _system_name(document: dict, metadata: dict, prompt_family: str) -> str:
    if metadata.get("escbench_system"):
        return str(metadata["escbench_system"])
    model = str(document.get("model_name") or (document.get("config") or {}).get("model") or "model")
    name = f"lm-eval/{Path(model.rstrip('/')).name or model}"
    return name if prompt_family == "escbench" else f"{name}/{prompt_family}-prompt"


def _system_config(document: dict, task: str, prompt_family: str) -> dict:
    run_config = document.get("config") or {}
    return {
        "tool": "lm-eval",
        "lm_eval_version": document.get("lm_eval_version"),
        "model_type": run_config.get("model"),
        "model": document.get("model_name"),
        "model_args": run_config.get("model_args"),
        "model_dtype": run_config.get("model_dtype"),
        "task": task,
        "task_version": (document.get("versions") or {}).get(task),
        "prompt": prompt_family,
        "chat_template_sha": document.get("chat_template_sha"),
        "system_instruction_sha": document.get("system_instruction_sha"),
        "fewshot_as_multiturn": document.get("fewshot_as_multiturn"),
    }


def _generation(task_config: dict, run_config: dict) -> dict:
    """Decoding settings in escbench's GenerationSettings shape."""
    kwargs = task_config.get("generation_kwargs") or {}
    batch_size = run_config.get("batch_size")
    return {
        "do_sample": bool(kwargs.get("do_sample", False)),
        "temperature": _number(kwargs.get("temperature", 0.0)),
        "top_p": _number(kwargs.get("top_p", 1.0)),
        "max_new_tokens": kwargs.get("max_gen_toks"),
        "seed": run_config.get("torch_seed"),
        "batch_size": int(batch_size) if str(batch_size).isdigit() else batch_size,
    }


def _documents_path(task_config: dict) -> Path | None:
    """The exported JSONL the task read, when it can still be found."""
    from .task_functions import DATA_DIR_KEY, resolve_split_file

    split_file = (task_config.get("dataset_kwargs") or {}).get("split_file")
    if not split_file:
        return None
    try:
        return resolve_split_file(split_file, (task_config.get("metadata") or {}).get(DATA_DIR_KEY))
    except DataError:
        return None


def _examples_sha256(path: Path | None, n_examples: int) -> str | None:
    """escbench's examples_sha256 of the first ``n_examples`` documents of ``path``."""
    from .export import example_part
    from .task_functions import read_documents

    if path is None:
        return None
    try:
        documents = read_documents(path)[:n_examples]
    except DataError:
        return None
    if len(documents) < n_examples:
        return None
    digest = hashlib.sha256()
    for document in documents:
        digest.update(json.dumps(example_part(document), sort_keys=True).encode())
    return digest.hexdigest()


def _created_at(document: dict, path: Path) -> str:
    """When lm-eval ran (its ``date``), else when the file was written; ISO-8601 UTC."""
    date = document.get("date")
    timestamp = date if isinstance(date, (int, float)) else path.stat().st_mtime
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="microseconds")


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
