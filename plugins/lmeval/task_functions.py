"""What ``tasks/lm_eval/utils.py`` hands lm-eval: the document loader, ``process_results`` and
one aggregation per score column, all scoring with escbench's own metric plugins.

lm-eval calls ``process_results(doc, [generation])`` per document and then, per metric, an
aggregation over the list of per-document values. Here every per-document value is the
scoring sample itself (id, prediction, reference, strategy), and every aggregation scores the
whole list with :func:`escbench.harness.scoring.score_samples` - the function ``escbench run`` uses -
so corpus metrics (BLEU-4, Distinct-n) are aggregated over the corpus exactly as escbench
does, and the numbers are the same for the same generations.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Callable

from escbench.harness.errors import ConfigError, DataError

SCORED_METRICS: dict[str, tuple[str, ...]] = {
    "meteor": ("METEOR",),
    "bleu": ("B-4",),
    "rouge-l": ("R-L",),
    "extrema": ("Extrema",),
    "distinct": ("D-1", "D-2", "D-3"),
    "toxicity-lexicon": ("lex:Toxicity", "lex:Severe Toxicity", "lex:Identity Attack", "lex:Insult",
                         "lex:Profanity", "lex:Threat"),
}
"""escbench metric -> the score columns the lm-eval tasks report (escbench's default metrics
except ``strategy``: lm-eval generations carry no predicted strategy)."""

METRIC_OF_COLUMN = {column: metric for metric, columns in SCORED_METRICS.items() for column in columns}
DATA_DIR_KEY = "escbench_data_dir"
"""``--metadata '{"escbench_data_dir": DIR}'`` makes every task read ``DIR/<split>.jsonl``."""

log = logging.getLogger("escbench.lmeval")


# -- documents -------------------------------------------------------------------------------
def resolve_split_file(split_file: str, data_dir: str | None) -> Path:
    """The JSONL a task reads: ``split_file`` under ``data_dir`` (default ``tasks/lm_eval/data``)
    unless absolute; DataError naming the export command when it does not exist."""
    from .export import default_export_path

    path = Path(split_file).expanduser()
    if not path.is_absolute():
        folder = Path(data_dir).expanduser() if data_dir else default_export_path("x").parent
        path = folder / path
    if not path.is_file():
        split = path.name.removesuffix(".jsonl")
        raise DataError(
            f"the lm-eval task's documents are missing: run `escbench export-split {split} --out {path}` "
            f"(or pass --metadata '{{\"{DATA_DIR_KEY}\": \"FOLDER\"}}' naming the folder holding {path.name})",
            path=str(path))
    return path


def read_documents(path: Path) -> list[dict]:
    """The document lines of an exported split; DataError names the bad line."""
    from escbench.harness.jsonl import read_records

    try:
        documents = list(read_records(path))
    except ValueError as error:
        raise DataError(str(error)) from None
    for number, document in enumerate(documents, start=1):
        if not isinstance(document.get("messages"), list) or "reference" not in document:
            raise DataError("not an escbench export line (no 'messages'/'reference'): re-run `escbench "
                            "export-split`", path=str(path), where=f"document {number}")
    return documents


def load_tokenizer(name: str | None, trust_remote_code: bool = False) -> Any | None:
    """The tokenizer lm-eval's model uses (``tokenizer=`` or ``pretrained=`` of --model_args),
    or None when none is named or it cannot be loaded (prompts fall back to the transcript)."""
    if not name:
        return None
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(name), trust_remote_code=bool(trust_remote_code))
    except Exception as error:  # any loading failure: warn and use the transcript form
        log.warning("escbench: cannot load tokenizer %r (%s); prompts use the plain transcript form", name, error)
        return None


def add_prompts(documents: list[dict], tokenizer: Any | None) -> list[dict]:
    """Documents with ``prompt``, ``prompt_form``, ``system_prompt`` and ``dialogue`` filled in
    (see :mod:`escbench.plugins.lmeval.prompts`)."""
    from .prompts import dialogue_as_user_message, read_chat_user_template, render_prompt, system_prompt_of

    chat_user = read_chat_user_template()
    templated = tokenizer is not None and bool(getattr(tokenizer, "chat_template", None))
    out = []
    for document in documents:
        messages = document["messages"]
        out.append({
            **document,
            "prompt": render_prompt(messages, tokenizer),
            "prompt_form": "chat_template" if templated else "transcript",
            "system_prompt": system_prompt_of(messages),
            "dialogue": dialogue_as_user_message(messages, chat_user),
        })
    return out


def load_documents(split_file: str, **metadata: Any):
    """lm-eval ``custom_dataset``: ``{"test": Dataset}`` of the exported split.

    ``metadata`` is lm-eval's task metadata merged with ``--model_args`` and ``--metadata``:
    ``tokenizer``/``pretrained`` pick the chat template for the ``prompt`` field,
    ``escbench_data_dir`` the folder of the JSONL files.
    """
    import datasets

    path = resolve_split_file(split_file, metadata.get(DATA_DIR_KEY))
    tokenizer = load_tokenizer(metadata.get("tokenizer") or metadata.get("pretrained"),
                               metadata.get("trust_remote_code", False))
    documents = add_prompts(read_documents(path), tokenizer)
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(documents)})


# -- per-document results ------------------------------------------------------------------------
def prediction_text(generation: str, prompt_form: str | None) -> str:
    """The reply escbench's HF backend would keep from the same generated text: cut at the
    transcript stops when the prompt was a transcript, then stripped."""
    from escbench.harness.backends.hf import TRANSCRIPT_STOPS
    from escbench.harness.stops import trim_at_stops

    if prompt_form == "transcript":
        generation = trim_at_stops(generation, TRANSCRIPT_STOPS)
    return generation.strip()


def process_results(doc: dict, results: list[str]) -> dict[str, dict]:
    """Per document, the scoring sample under every column name (see the module doc)."""
    sample = {
        "id": doc["id"],
        "prediction": prediction_text(results[0], doc.get("prompt_form")),
        "reference": doc["reference"],
        "strategy": doc.get("strategy"),
    }
    return {column: sample for column in METRIC_OF_COLUMN}


# -- corpus aggregations -----------------------------------------------------------------------
_scored: dict[tuple, Any] = {}
"""(metric, samples) -> ScoredCorpus of the latest few corpora, so the columns of one metric
(D-1..D-3, the lex: columns) are computed once per task."""


def score_corpus(metric: str, items: list[dict]):
    """escbench's :func:`escbench.harness.scoring.score_samples` for one metric over ``items``."""
    from escbench.harness.plugins import get_host
    from escbench.harness.registry import Sample
    from escbench.harness.scoring import score_samples

    key = (metric, tuple((i["id"], i["prediction"], i["reference"], i.get("strategy")) for i in items))
    if key not in _scored:
        samples = [Sample(id=str(i["id"]), prediction=i["prediction"], reference=i["reference"],
                          strategy=i.get("strategy")) for i in items]
        if len(_scored) >= 16:
            _scored.clear()
        _scored[key] = score_samples(samples, [(metric, {})], get_host().metrics)
    return _scored[key]


def aggregation_for(column: str) -> Callable[[list[dict]], float]:
    """The lm-eval aggregation of score column ``column``: escbench's corpus value, or NaN
    (with a warning naming the reason) when the metric cannot run here."""
    if column not in METRIC_OF_COLUMN:
        raise ConfigError(f"lm-eval task: no escbench metric reports column {column!r}; "
                          f"known: {', '.join(METRIC_OF_COLUMN)}")
    metric = METRIC_OF_COLUMN[column]

    def aggregate(items: list[dict]) -> float:
        scored = score_corpus(metric, items)
        if column in scored.scores:
            return scored.scores[column]
        reason = scored.errors.get(metric) or scored.skipped.get(metric) or "no value"
        log.warning("escbench: %s is NaN: %s", column, reason)
        return math.nan

    aggregate.__name__ = f"escbench_{metric}_{column}"
    aggregate.__qualname__ = aggregate.__name__
    return aggregate
