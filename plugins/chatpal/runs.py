"""What ``escbench expand``, ``dri`` and ``augment`` do once their options are parsed: load the
inputs, open the journal, run the step, write the outputs (:mod:`.outputs`) and print a summary.

The output folder is locked (:class:`escbench.harness.folder_lock.FolderLock`) for the whole run, so a
second run into it is refused, naming the running process; ``--dry-run`` only reads the
journal and creates nothing (:mod:`.dryrun` prints the bound).

Exit status: 0 when every request was answered or refused for good (``request_rejected``
rejects), 1 when some failed on transient errors (run the same command again to retry them;
nothing answered is asked twice). A setting found wrong mid-run (e.g. HTTP 401) stops the
sending, the outputs are written with what was received, then the error is raised.
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .dryrun import dry_run, expand_parts, known_part
from .journal import Journal
from .outputs import reasons_table, usage_table, write_outputs
from .tables import SimpleTable, print_tables
from .teacher import Teacher, journal_usage
from .teacher_options import build_teacher, journal_path, progress_printer, schema_options

BLOCKING = ("request_failed", "not_sent")


@contextmanager
def teacher_session(args: argparse.Namespace, task: str) -> Iterator[Teacher]:
    """A Teacher over the journal: for ``--dry-run`` a read-only view (no folder, journal or
    lock created); else with the output folder locked and the journal open for the whole run.
    A setting error found mid-run is raised once the caller has written its outputs."""
    if args.dry_run:
        yield build_teacher(args, Journal.peek(journal_path(args)), task=task)
        return
    from escbench.harness.folder_lock import FolderLock

    with FolderLock(args.out), Journal(journal_path(args)) as journal:
        teacher = build_teacher(args, journal, task=task)
        yield teacher
    if teacher.stopped is not None:
        raise teacher.stopped


def _teacher_summary(teacher: Teacher, args: argparse.Namespace) -> dict:
    return {"model": teacher.model, "base_url": teacher.backend.base_url, "temperature": args.temperature,
            "top_p": args.top_p, "max_tokens": args.max_tokens, "seed": args.seed, "concurrency": args.concurrency,
            "rpm": args.rpm, "tpm": args.tpm}


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
    from escbench.harness.catalogs import load_strategy_catalog
    from escbench.harness.loaders import load_dialogues
    from escbench.harness.paths import resolve_project_path

    from .expand import ExpandSettings, Expansion, load_weights, select_scenes
    from .prompts import load_template
    from .qa import QAOptions

    catalog = load_strategy_catalog(args.catalog)
    seeds = load_dialogues(resolve_project_path(args.seeds), catalog=catalog).dialogues
    scenes = select_scenes(args.scenes)
    settings = ExpandSettings(
        seeds=seeds, scenes=scenes, weights=load_weights(args.distribution, scenes), per_scene=args.per_scene,
        iterations=args.iterations, refill_rounds=args.refill_rounds, example_scene=args.example_scene,
        seed=args.seed, dup_threshold=args.dup_threshold,
        qa=QAOptions(catalog=catalog, min_turns=args.min_turns, max_turns=args.max_turns, **_content_checks(args)),
        schema=schema_options(args))
    template = load_template(args.prompts)
    with teacher_session(args, "expand") as teacher:
        journal = teacher.journal
        expansion = Expansion(settings, teacher, template, catalog)
        if args.dry_run:
            return dry_run(teacher, expand_parts(expansion, teacher), "expand")
        report = {"title": "escbench expand", "step": "expand", "seeds": str(args.seeds), "prompts": str(args.prompts),
                  "template_sha256": template.sha256, "teacher": _teacher_summary(teacher, args),
                  "settings": {"per_scene": args.per_scene, "iterations": args.iterations,
                               "distribution": args.distribution, "refill_rounds": args.refill_rounds,
                               "dup_threshold": args.dup_threshold, "min_turns": args.min_turns,
                               "max_turns": args.max_turns, "example_scene": args.example_scene}}

        def write(expansion: Expansion, show: bool = False) -> None:
            collector = expansion.collector
            iterations = [{"iteration": s.iteration, "requested": s.requested, "accepted": s.accepted,
                           "rejected": dict(s.rejected), "failed_requests": s.failed_requests,
                           "rejected_requests": s.rejected_requests}
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
    _warn_rejected(Counter(r["reason"] for r in expansion.collector.rejects))
    if not complete:
        print("error: some requests failed after every retry (see rejects.jsonl, reason request_failed); "
              "the next iteration was not started. Run the same command again to retry them.", file=sys.stderr)
    return 0 if complete else 1


def _warn_rejected(reasons: Counter) -> None:
    if reasons["request_rejected"]:
        print(f"warning: the server refused {reasons['request_rejected']} request(s) for good (reason "
              "request_rejected in rejects.jsonl); they are not sent again unless --retry-failed", file=sys.stderr)


def _iterations_table(iterations: list[dict]) -> SimpleTable:
    rows = [[i["iteration"], i["requested"], i["accepted"], sum(i["rejected"].values())] for i in iterations]
    return SimpleTable("iterations", "Per iteration", ["iteration", "requested", "accepted", "rejected"], rows)


def _scenes_table(per_scene: dict) -> SimpleTable:
    rows = [[scene, counts["accepted"], sum(counts["rejected"].values()),
             ", ".join(f"{reason} {n}" for reason, n in sorted(counts["rejected"].items()))]
            for scene, counts in per_scene.items() if counts["accepted"] or counts["rejected"]]
    return SimpleTable("scenes", "Per scene", ["scene", "accepted", "rejected", "reasons"], rows)


def run_augment(args: argparse.Namespace) -> int:
    from escbench.harness.paths import resolve_project_path

    from .augment import Augmentation, load_posts
    from .collect import DialogueCollector
    from .prompts import load_template
    from .qa import QAOptions

    posts = load_posts(resolve_project_path(args.posts))
    if args.limit is not None:
        posts = posts[: args.limit]
    template = load_template(args.prompts)
    collector = DialogueCollector(QAOptions(catalog=None, min_turns=args.min_turns, max_turns=args.max_turns,
                                            require_description=False, **_content_checks(args)), args.dup_threshold)
    schema = schema_options(args)
    with teacher_session(args, "augment") as teacher:
        journal = teacher.journal
        augmentation = Augmentation(teacher, template, collector, per_post=args.per_post, schema=schema)
        if args.dry_run:
            requests = [augmentation.request(p, s) for p in posts for s in range(args.per_post)]
            return dry_run(teacher, [known_part(teacher, requests, "augment")], "augment")
        augmentation.run(posts, progress=progress_printer("augment"))
        summary = {"posts": len(posts), "accepted": len(collector.accepted), "rejected": len(collector.rejects)}
        report = {"title": "escbench augment", "step": "augment", "posts": str(args.posts), "summary": summary,
                  "template_sha256": template.sha256, "teacher": _teacher_summary(teacher, args),
                  "rejected_by_reason": dict(collector.rejected_by_reason())}
        _finish(Path(args.out), teacher, journal, {"dialogues.json": collector.accepted}, collector.rejects, report,
                [reasons_table(collector.rejected_by_reason(), len(collector.accepted))])
    _warn_rejected(collector.rejected_by_reason())
    return 1 if augmentation.failed_requests else 0


def run_dri(args: argparse.Namespace) -> int:
    from escbench.harness.catalogs import load_strategy_catalog
    from escbench.harness.loaders import load_dialogues
    from escbench.harness.paths import resolve_project_path

    from .dri import Inpainting, choose_turns
    from .prompts import load_template

    catalog = load_strategy_catalog(args.catalog)
    dialogues = load_dialogues(resolve_project_path(args.data)).dialogues
    if args.limit is not None:
        dialogues = dialogues[: args.limit]
    turns = choose_turns(dialogues, args.fraction, args.seed)
    template = load_template(args.prompts, "user_labeled.txt" if args.label_strategies else "user.txt")
    schema = schema_options(args)
    with teacher_session(args, "dri") as teacher:
        journal = teacher.journal
        inpainting = Inpainting(teacher, template, args.k, catalog if args.label_strategies else None,
                                args.dup_threshold, schema=schema)
        requests = [inpainting.request(dialogue, index) for dialogue, index in turns]
        if args.dry_run:
            return dry_run(teacher, [known_part(teacher, requests, "dri")], "dri")
        replies = teacher.run(requests, parse=inpainting.journal_summary, progress=progress_printer("dri"))
        records, rejects, counts = [], [], Counter()
        for (dialogue, index), reply in zip(turns, replies):
            context = {"dialogue_id": dialogue.id, "turn_index": index, "request_key": reply.key,
                       "finish_reason": reply.finish_reason}
            if reply.error:
                rejects.append({"reason": reply.failure or "request_failed", "detail": reply.error, **context,
                                "answer": ""})
                continue
            if reply.refusal is not None:
                rejects.append({"reason": "refused", "detail": f"the teacher refused: {reply.refusal}", **context,
                                "answer": reply.text})
                continue
            parsed = inpainting.parse(dialogue, index, reply)
            if not parsed.replies and (reply.truncated or not parsed.dropped):
                reason, detail = (("truncated", "cut at max_tokens before one complete reply") if reply.truncated
                                  else ("unparseable", "no list of replies in the answer"))
                rejects.append({"reason": reason, "detail": detail, **context, "answer": reply.text})
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
    _warn_rejected(Counter(r["reason"] for r in rejects))
    return 1 if any(r["reason"] in BLOCKING for r in rejects) else 0
