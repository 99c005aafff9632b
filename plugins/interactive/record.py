"""The results record and samples file of one system on one interactive split.

Same schema as ``escbench run`` writes (``escbench.harness.results``), one "example" per conversation:
``scores`` are means over conversations of the judge's dimensions (``J-Inf.`` ...) and the
cheap measures (:mod:`.measures`); each samples line holds one conversation (``turns``, the
judge's ``rating``, per-conversation ``scores``), with the role card as ``reference`` and the
transcript as ``prediction`` so the leaderboard page shows every conversation in full. The
leaderboard's intervals and paired tests resample conversations (means of per-sample scores).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

from escbench.harness.cache import stable_hash
from escbench.harness.jsonl import write_json_atomic, write_jsonl_atomic
from escbench.harness.registry import GenerationSettings, system_display
from escbench.harness.results import SCHEMA, environment_info, now_iso, record_stem

from .engine import Conversation, Counts
from .measures import COLUMNS, conversation_measures
from .prompts import Guideline, transcript

METRIC = "interactive"  # score_meta's metric name (not a registered metric: intervals use per-sample means)


def judge_column(short: str) -> str:
    return f"J-{short}"


def per_conversation(conversations: Sequence[Conversation], ratings: Sequence[dict[str, int]] | None,
                     guideline: Guideline | None) -> list[dict[str, float | None]]:
    rows = []
    for index, conversation in enumerate(conversations):
        scores: dict[str, float | None] = {}
        if ratings is not None and guideline is not None:
            scores.update({judge_column(d.short): float(ratings[index][d.name]) for d in guideline.dimensions})
        scores.update(conversation_measures(conversation.turns))
        rows.append(scores)
    return rows


def corpus_scores(rows: list[dict[str, float | None]]) -> dict[str, float]:
    """Mean of each column over the conversations that have a value; columns no one has are left out."""
    out = {}
    for column in rows[0] if rows else {}:
        values = [row[column] for row in rows if row.get(column) is not None]
        if values:
            out[column] = math.fsum(values) / len(values)
    return out


def write_record(out: Path, *, split: dict, cards_source: Path, system: dict, label: str,
                 conversations: Sequence[Conversation], ratings: Sequence[dict[str, int]] | None,
                 guideline: Guideline | None, settings: GenerationSettings, simulator: dict,
                 judge: dict | None, counts: Counts, timings: dict) -> tuple[dict, Path]:
    """Write ``OUT/<label>__<split>.json`` and its samples file; returns (record, path)."""
    rows = per_conversation(conversations, ratings, guideline)
    scores = corpus_scores(rows)
    meta = {column: {"metric": METRIC, "higher_is_better": COLUMNS.get(column, True)} for column in scores}
    samples = []
    for index, (conversation, row) in enumerate(zip(conversations, rows)):
        card = conversation.card
        samples.append({
            "id": card.id, "dialogue_id": card.dialogue_id, "turn_index": 0, "scene": card.scene,
            "description": card.situation, "context": [], "reference": card.summary(), "strategy": None,
            "prediction": transcript(conversation.turns), "predicted_strategy": None,
            "turns": [{k: v for k, v in t.items() if k not in ("raw", "usage")} for t in conversation.turns],
            "rating": ratings[index] if ratings is not None else None,
            "scores": {column: value for column, value in row.items() if column in scores},
        })
    usage = {"prompt_tokens": 0, "completion_tokens": 0}
    for conversation in conversations:
        for turn in conversation.turns:
            for key in usage:
                usage[key] += int((turn.get("usage") or {}).get(key) or 0)
    stem = record_stem(label, split["split"])
    config = system["config"]
    record = {
        "schema": SCHEMA, "created_at": now_iso(),
        "system": {"name": system["name"], "plugin": system["plugin"], "args": system["args"],
                   "distribution": system["distribution"], "version": system["version"],
                   "config": config, "config_sha256": stable_hash(config),
                   "label": system["args"].get("label"), **system_display(system["class"])},
        "split": {**split, "name": split["split"], "source": str(cards_source),
                  "n_dialogues": len(conversations), "n_examples": len(conversations),
                  "examples_sha256": stable_hash([[s["id"], s["reference"]] for s in samples]),
                  "rejected_dialogues": 0, "rejects_file": None},
        "generation": settings.to_dict(),
        "interactive": {"simulator": simulator, "judge": judge, "max_turns": split["max_turns"],
                        "turns": sum(len(c.turns) for c in conversations),
                        "ended_by_seeker": sum(1 for c in conversations if c.system_turns < split["max_turns"])},
        "metrics": [{"name": METRIC, "args": {}}],
        "scores": scores, "score_meta": meta, "metric_errors": {}, "metric_skipped": {},
        "counts": {"examples": len(conversations), "generated": counts.system_turns, "cached": counts.cached_turns,
                   "seeker_requests": counts.seeker_requests, "judged": counts.judged,
                   "cached_ratings": counts.cached_ratings, "rejected_dialogues": 0,
                   "empty_generations": sum(1 for c in conversations for t in c.turns
                                            if t["role"] == "ai" and not t["text"].strip())},
        "timings": timings, "usage": usage, "environment": environment_info(),
        "samples_file": f"{stem}.samples.jsonl",
    }
    write_jsonl_atomic(Path(out) / f"{stem}.samples.jsonl", samples)
    path = Path(out) / f"{stem}.json"
    write_json_atomic(path, record)
    return record, path


def describe_system(host: Any, name: str, args: dict, instance: Any) -> dict[str, Any]:
    plugin = host.systems.plugin_of(name)
    info = host.infos.get(plugin)
    return {"name": name, "plugin": plugin, "args": args, "config": instance.config(), "class": type(instance),
            "distribution": info.distribution if info else None, "version": info.version if info else None}
