"""What ``escbench expand``, ``dri`` and ``augment`` do once their options are parsed: load the
inputs, open the journal, run the step, write the outputs (:mod:`.outputs`) and print a summary.

Exit status: 0 when every request was answered, 1 when some failed for good (run the same
command again to retry them; nothing answered is asked twice).
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from .journal import Journal
from .outputs import reasons_table, usage_table, write_outputs
from .tables import SimpleTable, print_tables
from .teacher import Teacher, TeacherRequest, estimated_tokens, journal_usage
from .teacher_options import build_teacher, journal_path, progress_printer


def _teacher_summary(teacher: Teacher, args: argparse.Namespace) -> dict:
    return {"model": teacher.model, "base_url": teacher.backend.base_url, "temperature": args.temperature,
            "top_p": args.top_p, "max_tokens": args.max_tokens, "seed": args.seed, "concurrency": args.concurrency,
            "rpm": args.rpm, "tpm": args.tpm}


def dry_run(teacher: Teacher, requests: list[TeacherRequest], label: str) -> int:
    """Print what ``requests`` would cost at most (all ``max_tokens`` used); send nothing."""
    pending = teacher.pending(requests)
    max_tokens = teacher.settings.max_tokens
    prompt = sum(estimated_tokens(r.messages, 0) for r in pending)
    cost = teacher.prices.cost(teacher.model, prompt, max_tokens * len(pending))
    shown = "unknown (model not in the price table)" if cost is None else f"{cost:.4f} {teacher.prices.currency}"
    print(f"{label}: {len(requests)} requests, {len(requests) - len(pending)} already in the journal, "
          f"{len(pending)} to send; about {prompt} prompt tokens + at most {max_tokens * len(pending)} "
          f"completion tokens; largest possible cost {shown}")
    return 0


def _finish(out: Path, teacher: Teacher, journal: Journal, data: dict, rejects: list[dict], report: dict,
            tables: list[SimpleTable], show: bool = True) -> None:
    """Write the outputs; with ``show``, print the tables and the paths written."""
    total = journal_usage(journal, teacher.prices, teacher.model)
    tables = tables + [usage_table(teacher.usage, total, teacher.model)]
    report = {**report, "usage": {"this_run": teacher.usage.to_dict(), "journal": total.to_dict()},
              "journal": str(journal.path)}
    written = write_outputs(out, data, rejects, report, tables)
    if not show:
        return
    print_tables(tables)
    for path in written:
        print(f"wrote {path}", file=sys.stderr)


def _content_checks(args: argparse.Namespace) -> dict:
    """QA's degenerate-content thresholds from --min-words / --max-short-share (when given)."""
    return {name: getattr(args, name) for name in ("min_words", "max_short_share") if getattr(args, name, None) is not None}


def run_expand(args: argparse.Namespace) -> int:
    from harness.catalogs import load_strategy_catalog
    from harness.loaders import load_dialogues

    from .expand import Expansion, ExpandSettings, load_weights, select_scenes
    from .prompts import load_template, resolve_path
    from .qa import QAOptions

    catalog = load_strategy_catalog(args.catalog)
    seeds = load_dialogues(resolve_path(args.seeds), catalog=catalog).dialogues
    scenes = select_scenes(args.scenes)
    settings = ExpandSettings(
        seeds=seeds, scenes=scenes, weights=load_weights(args.distribution, scenes), per_scene=args.per_scene,
        iterations=args.iterations, refill_rounds=args.refill_rounds, example_scene=args.example_scene,
        seed=args.seed, dup_threshold=args.dup_threshold,
        qa=QAOptions(catalog=catalog, min_turns=args.min_turns, max_turns=args.max_turns, **_content_checks(args)))
    template = load_template(args.prompts)
    with Journal(journal_path(args)) as journal:
        teacher = build_teacher(args, journal, task="expand")
        expansion = Expansion(settings, teacher, template, catalog)
        if args.dry_run:
            plan = [(s, i) for s, q in expansion.quotas().items() for i in range(q)]
            return dry_run(teacher, [expansion.request(1, s, i) for s, i in plan], "iteration 1 (later ones "
                           "depend on what is accepted)")
        report = {"title": "escbench expand", "step": "expand", "seeds": str(args.seeds), "prompts": str(args.prompts),
                  "template_sha256": template.sha256, "teacher": _teacher_summary(teacher, args),
                  "settings": {"per_scene": args.per_scene, "iterations": args.iterations,
                               "distribution": args.distribution, "refill_rounds": args.refill_rounds,
                               "dup_threshold": args.dup_threshold, "min_turns": args.min_turns,
                               "max_turns": args.max_turns, "example_scene": args.example_scene}}

        def write(expansion: Expansion, show: bool = False) -> None:
            collector = expansion.collector
            iterations = [{"iteration": s.iteration, "requested": s.requested, "accepted": s.accepted,
                           "rejected": dict(s.rejected), "failed_requests": s.failed_requests}
                          for s in expansion.summaries]
            per_scene = {scene.name: {"accepted": collector.accepted_by_group[scene.name],
                                      "rejected": dict(collector.rejected_by_group.get(scene.name, {}))}
                         for scene in scenes}
            summary = {"accepted": len(collector.accepted), "rejected": len(collector.rejects),
                       "iterations done": len(expansion.summaries), "pool size": len(expansion.pool)}
            tables = [reasons_table(collector.rejected_by_reason(), len(collector.accepted)),
                      _iterations_table(iterations), _scenes_table(per_scene)]
            _finish(Path(args.out), teacher, journal,
                    {"dialogues.json": collector.accepted},
                    collector.rejects, {**report, "summary": summary, "iterations": iterations,
                                        "per_scene": per_scene}, tables, show)

        complete = expansion.run(progress=progress_printer("expand"), after_iteration=write)
        write(expansion, show=True)
    if not complete:
        print("error: some requests failed after every retry (see rejects.jsonl, reason request_failed); "
              "the next iteration was not started. Run the same command again to retry them.", file=sys.stderr)
    return 0 if complete else 1


def _iterations_table(iterations: list[dict]) -> SimpleTable:
    rows = [[i["iteration"], i["requested"], i["accepted"], sum(i["rejected"].values())] for i in iterations]
    return SimpleTable("iterations", "Per iteration", ["iteration", "requested", "accepted", "rejected"], rows)


def _scenes_table(per_scene: dict) -> SimpleTable:
    rows = [[scene, counts["accepted"], sum(counts["rejected"].values()),
             ", ".join(f"{reason} {n}" for reason, n in sorted(counts["rejected"].items()))]
            for scene, counts in per_scene.items() if counts["accepted"] or counts["rejected"]]
    return SimpleTable("scenes", "Per scene", ["scene", "accepted", "rejected", "reasons"], rows)


def run_augment(args: argparse.Namespace) -> int:
    from .augment import Augmentation, load_posts
    from .collect import DialogueCollector
    from .prompts import load_template, resolve_path
    from .qa import QAOptions

    posts = load_posts(resolve_path(args.posts))
    if args.limit is not None:
        posts = posts[: args.limit]
    template = load_template(args.prompts)
    collector = DialogueCollector(QAOptions(catalog=None, min_turns=args.min_turns, max_turns=args.max_turns,
                                            require_description=False, **_content_checks(args)), args.dup_threshold)
    with Journal(journal_path(args)) as journal:
        teacher = build_teacher(args, journal, task="augment")
        augmentation = Augmentation(teacher, template, collector, per_post=args.per_post)
        if args.dry_run:
            return dry_run(teacher, [augmentation.request(p, s) for p in posts for s in range(args.per_post)], "augment")
        augmentation.run(posts, progress=progress_printer("augment"))
        summary = {"posts": len(posts), "accepted": len(collector.accepted), "rejected": len(collector.rejects)}
        report = {"title": "escbench augment", "step": "augment", "posts": str(args.posts), "summary": summary,
                  "template_sha256": template.sha256, "teacher": _teacher_summary(teacher, args),
                  "rejected_by_reason": dict(collector.rejected_by_reason())}
        _finish(Path(args.out), teacher, journal, {"dialogues.json": collector.accepted}, collector.rejects, report,
                [reasons_table(collector.rejected_by_reason(), len(collector.accepted))])
    return 1 if augmentation.failed_requests else 0


def run_dri(args: argparse.Namespace) -> int:
    from harness.catalogs import load_strategy_catalog
    from harness.loaders import load_dialogues

    from .dri import Inpainting, choose_turns
    from .prompts import load_template, resolve_path

    catalog = load_strategy_catalog(args.catalog)
    dialogues = load_dialogues(resolve_path(args.data)).dialogues
    if args.limit is not None:
        dialogues = dialogues[: args.limit]
    turns = choose_turns(dialogues, args.fraction, args.seed)
    template = load_template(args.prompts, "user_labeled.txt" if args.label_strategies else "user.txt")
    with Journal(journal_path(args)) as journal:
        teacher = build_teacher(args, journal, task="dri")
        inpainting = Inpainting(teacher, template, args.k, catalog if args.label_strategies else None,
                                args.dup_threshold)
        requests = [inpainting.request(dialogue, index) for dialogue, index in turns]
        if args.dry_run:
            return dry_run(teacher, requests, "dri")
        replies = teacher.run(requests, parse=inpainting.journal_summary, progress=progress_printer("dri"))
        records, rejects, counts = [], [], Counter()
        for (dialogue, index), reply in zip(turns, replies):
            context = {"dialogue_id": dialogue.id, "turn_index": index, "request_key": reply.key}
            if reply.error:
                rejects.append({"reason": "request_failed", "detail": reply.error, **context, "answer": ""})
                continue
            parsed = inpainting.parse(dialogue, index, reply)
            if not parsed.replies and not parsed.dropped:
                reason = "truncated" if reply.truncated else "unparseable"
                rejects.append({"reason": reason, "detail": "no list of replies in the answer", **context,
                                "answer": reply.text})
                continue
            records.append(inpainting.record(dialogue, index, reply, parsed))
            counts["alternatives"] += len(parsed.replies)
            counts["short of k"] += len(parsed.replies) < args.k
            counts.update({f"dropped: {name}": n for name, n in parsed.dropped.items()})
            counts["unknown strategy labels"] += parsed.unknown_labels
        summary = {"dialogues": len(dialogues), "turns chosen": len(turns), "turns inpainted": len(records),
                   "alternatives": counts["alternatives"],
                   "expansion factor": round((len(records) + counts["alternatives"]) / len(records), 3) if records else 0}
        rows = [[name, value] for name, value in summary.items()] + [[name, n] for name, n in sorted(counts.items())
                                                                     if name != "alternatives"]
        rows += [[f"rejected: {reason}", n] for reason, n in sorted(Counter(r["reason"] for r in rejects).items())]
        report = {"title": "escbench dri", "step": "dri", "data": str(args.data), "k": args.k,
                  "fraction": args.fraction, "label_strategies": args.label_strategies, "summary": summary,
                  "template_sha256": template.sha256, "teacher": _teacher_summary(teacher, args)}
        _finish(Path(args.out), teacher, journal, {"dri.jsonl": records}, rejects, report,
                [SimpleTable("dri", "Diverse response inpainting", ["", "count"], rows)])
    return 1 if any(r["reason"] == "request_failed" for r in rejects) else 0
