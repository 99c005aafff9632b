"""Expansion with the embedded teacher, with and without a JSON schema, in one run.

    .venv/bin/python benchmarks/structured_teacher.py                   # 8 + 8 requests, 480 tokens
    .venv/bin/python benchmarks/structured_teacher.py --requests 2 --max-tokens 200 --out /tmp/st
    .venv/bin/python benchmarks/structured_teacher.py --schema-profile portable   # OpenAI strict subset
    .venv/bin/python benchmarks/structured_teacher.py --repetition-penalty 1.3    # serve flag

``escbench serve --model smollm2`` runs as a subprocess; the same 8 expansion requests (8
scenes, real seed examples, the shipped prompt) go to it through
:class:`escbench.plugins.chatpal.teacher.Teacher` twice at once: once with ``response_format`` (the
schema of :mod:`escbench.plugins.chatpal.schemas`, grammar-constrained on the server) and once
without (``--no-structured``). Every request of a scene gets the same sampling seed, so the
server answers all 16 in one batch. The schema uses the ``extended`` profile by default
(utterances and description bounded, turns alternating from User; see
:class:`escbench.plugins.chatpal.schemas.SchemaOptions`). For each arm the table gives:

- format: answers passing every format check of QA (JSON, roles, alternation, strategies,
  scene, description, turn bounds): all QA reasons except the content ones;
- content: answers QA accepts outright (format plus the degenerate-content checks) and that
  duplicate no seed;
- tokens/accepted: completion tokens of the arm divided by its content-accepted dialogues.

Answers and verdicts are written to ``--out`` (``answers.jsonl``) for inspection.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
CONTENT_REASONS = {"placeholder_text", "repeated_utterance", "too_few_words", "exact_duplicate", "near_duplicate"}


def start_server(max_batch: int, wait_ms: float, repetition_penalty: float = 1.0) -> tuple[subprocess.Popen, str]:
    """``escbench serve --model smollm2`` on a free port; returns the process and its /v1 URL."""
    command = [sys.executable, "-m", "escbench.harness.cli", "serve", "--model", "smollm2", "--served-name", "teacher",
               "--port", "0", "--max-batch", str(max_batch), "--batch-wait-ms", str(wait_ms),
               "--repetition-penalty", str(repetition_penalty)]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()  # "escbench serve: teacher at URL (Ctrl-C stops)"
    if " at " not in line:
        process.kill()
        raise SystemExit(f"escbench serve did not start: {line!r}")
    return process, line.split(" at ", 1)[1].split()[0]


def build_requests(count: int, min_turns: int, max_turns: int, profile: str = "extended",
                   utterance_chars: int = 300, description_chars: int = 400):
    """``count`` expansion requests for distinct scenes, all with sample id (1, 0)."""
    from escbench.harness.catalogs import load_scenes, load_strategy_catalog
    from escbench.harness.loaders import load_dialogues
    from escbench.plugins.chatpal.expand import Expansion, ExpandSettings
    from escbench.plugins.chatpal.prompts import load_template
    from escbench.plugins.chatpal.qa import QAOptions
    from escbench.plugins.chatpal.schemas import SchemaOptions

    catalog = load_strategy_catalog("extes")
    seeds = load_dialogues(REPO / "tasks/seed/seed_dialogues.json", catalog=catalog).dialogues
    scenes = load_scenes()[:count]
    qa = QAOptions(catalog=catalog, min_turns=min_turns, max_turns=max_turns)
    settings = ExpandSettings(seeds=seeds, scenes=scenes, weights={s.name: 1.0 for s in scenes}, qa=qa,
                             schema=SchemaOptions(profile, utterance_chars, description_chars))
    expansion = Expansion(settings, None, load_template("tasks/prompts/expand"), catalog)
    return [expansion.request(1, scene.name, 0) for scene in scenes], expansion


def run_arm(url: str, requests, structured: bool, max_tokens: int, temperature: float, folder: Path,
            results: dict) -> None:
    from escbench.harness.backends.openai import OpenAIBackend
    from escbench.plugins.chatpal.journal import Journal
    from escbench.plugins.chatpal.teacher import Teacher, TeacherSettings

    with Journal(folder / f"journal-{'schema' if structured else 'prompt'}.jsonl") as journal:
        teacher = Teacher(OpenAIBackend("teacher", base_url=url, concurrency=len(requests), max_retries=0,
                                        timeout=24 * 3600.0),
                          journal, TeacherSettings(temperature=temperature, max_tokens=max_tokens),
                          structured=structured)
        started = time.perf_counter()
        results[structured] = (teacher.run(requests), time.perf_counter() - started)


def review(expansion, requests, replies) -> tuple[Counter, list[dict]]:
    from escbench.plugins.chatpal.collect import DialogueCollector

    collector = DialogueCollector(expansion.settings.qa)
    for seed in expansion.settings.seeds:
        collector.add_reference(seed.id, {"content": [{"User" if t.role == "user" else "AI": t.text}
                                                      for t in seed.turns]})
    outcomes, records = Counter(), []
    for request, reply in zip(requests, replies):
        scene = request.tag["scene"]
        accepted = collector.review(reply, group=scene, dialogue_id=reply.key[:12], scene=scene, check_scene=True)
        reason = None if accepted is not None else collector.rejects[-1]["reason"]
        outcomes["format" if reason is None or reason in CONTENT_REASONS else "format_failed"] += 1
        outcomes["content" if reason is None else f"rejected:{reason}"] += 1
        outcomes["completion_tokens"] += int(reply.usage.get("completion_tokens", 0))
        records.append({"scene": scene, "reason": reason, "usage": reply.usage, "answer": reply.text,
                        "detail": None if reason is None else collector.rejects[-1]["detail"]})
    return outcomes, records


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=8, help="requests per arm (distinct scenes; default 8)")
    parser.add_argument("--max-tokens", type=int, default=480, help="answer limit (default 480: a 10-turn dialogue)")
    parser.add_argument("--min-turns", type=int, default=6)
    parser.add_argument("--max-turns", type=int, default=10)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--schema-profile", choices=("portable", "extended"), default="extended",
                        help="schema profile of the structured arm (default extended: maxLength, alternation)")
    parser.add_argument("--max-utterance-chars", type=int, default=300, help="extended profile (default 300)")
    parser.add_argument("--max-description-chars", type=int, default=400, help="extended profile (default 400)")
    parser.add_argument("--repetition-penalty", type=float, default=1.0,
                        help="escbench serve --repetition-penalty for both arms (default 1.0: off)")
    parser.add_argument("--out", type=Path, help="folder for answers.jsonl and the journals (default: a temp folder)")
    args = parser.parse_args()

    requests, expansion = build_requests(args.requests, args.min_turns, args.max_turns,
                                         args.schema_profile, args.max_utterance_chars,
                                         args.max_description_chars)
    folder = args.out or Path(tempfile.mkdtemp(prefix="structured-teacher-"))
    folder.mkdir(parents=True, exist_ok=True)
    process, url = start_server(max_batch=2 * len(requests), wait_ms=3000,
                                repetition_penalty=args.repetition_penalty)
    results: dict = {}
    try:
        started = time.perf_counter()
        threads = [threading.Thread(target=run_arm, args=(url, requests, structured, args.max_tokens,
                                                          args.temperature, folder, results))
                   for structured in (True, False)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=30)
    if set(results) != {True, False}:
        raise SystemExit("an arm did not finish (see the errors above)")
    print(f"embedded SmolLM2 teacher via escbench serve, {len(requests)} expansion requests per arm, "
          f"schema profile {args.schema_profile}"
          f"{f' ({args.max_utterance_chars}/{args.max_description_chars} chars)' if args.schema_profile == 'extended' else ''}, repetition penalty {args.repetition_penalty}, max_tokens={args.max_tokens}, turns {args.min_turns}-{args.max_turns}, temperature {args.temperature}; "
          f"both arms in one run, {wall:.0f} s wall")
    print(f"{'arm':<14}{'format':>10}{'content':>10}{'tokens':>10}{'tokens/accepted':>18}  rejects")
    with open(folder / "answers.jsonl", "w", encoding="utf-8") as answers:
        for structured, label in ((True, "with schema"), (False, "prompt only")):
            replies, _elapsed = results[structured]
            outcomes, records = review(expansion, requests, replies)
            for record in records:
                answers.write(json.dumps({"arm": label, **record}, ensure_ascii=False) + "\n")
            n = len(requests)
            per = f"{outcomes['completion_tokens'] / outcomes['content']:.0f}" if outcomes["content"] else "n/a"
            rejects = ", ".join(f"{k.split(':', 1)[1]} {v}" for k, v in sorted(outcomes.items()) if k.startswith("rejected:"))
            print(f"{label:<14}{outcomes['format']:>5}/{n:<4}{outcomes['content']:>5}/{n:<4}"
                  f"{outcomes['completion_tokens']:>10}{per:>18}  {rejects or '-'}")
    print(f"answers: {folder / 'answers.jsonl'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
