"""``escbench human export|import|judge`` argument parsing and dispatch."""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path


def _names(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="human_command", metavar="ACTION", required=True)
    export = sub.add_parser("export", help="sample conversations, hide the systems, write one sheet per rater",
                            description="Write rating sheets (CSV and an HTML form per rater), the guideline and key.json.")
    export.add_argument("--results", nargs="+", type=Path, default=[Path("results")],
                        help="results folders or record files (replies mode; default: results)")
    export.add_argument("--split", help="split whose replies are rated (replies mode, paper Table 6)")
    export.add_argument("--systems", help="comma-separated systems (run labels, for labelled records) to include (default: every one on the split)")
    export.add_argument("--datasets", help="comma-separated split names whose whole dialogues are rated "
                                           "(dataset-quality mode, paper Table 3) instead of replies")
    export.add_argument("--conversations", metavar="SPLIT",
                        help="interactive split whose simulated conversations are rated whole (escbench interact "
                             "results under --results; the LLM judge's ratings become judge-interactive.csv)")
    export.add_argument("--n", type=int, default=50, help="conversations (or dialogues per dataset) to rate (default 50)")
    export.add_argument("--raters", type=int, default=3, help="number of rater sheets (default 3)")
    export.add_argument("--seed", type=int, default=0, help="sampling and shuffling seed (default 0)")
    export.add_argument("--out", type=Path, required=True, help="new folder for the sheets and key")
    export.add_argument("--guideline", type=Path, help="guideline file (default: tasks/human_eval/guideline.md)")

    imported = sub.add_parser("import", help="validate filled sheets; means and Fleiss' kappa per dimension as a table",
                              description="Read the sheets of an export folder and print Table 6 (or Table 3).")
    imported.add_argument("folder", type=Path, help="folder written by `escbench human export`")
    imported.add_argument("--sheets", help="comma-separated sheets to use as raters (default: the key's rater sheets)")
    imported.add_argument("--judge", action="append", default=[], metavar="SHEET",
                          help="also report kappa with this sheet (e.g. an LLM judge's) added to the raters; repeatable")
    imported.add_argument("--format", default="terminal", help="renderer: terminal, md, latex, html, csv, json")
    imported.add_argument("--display", type=Path, help="display schema YAML (default: the one shipped in harness/display.yaml)")
    imported.add_argument("--title", help="table title")
    imported.add_argument("--out", type=Path, help="write the table to this file instead of printing it")

    judge = sub.add_parser("judge", help="rate an export with an LLM through an OpenAI-compatible API",
                           description="Write judge-<MODEL>.csv in the raters' sheet format.")
    judge.add_argument("folder", type=Path, help="folder written by `escbench human export`")
    judge.add_argument("--model", required=True, help="model name sent to the server")
    judge.add_argument("--base-url", default="https://api.openai.com/v1", help="OpenAI-compatible endpoint")
    judge.add_argument("--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the API key")
    judge.add_argument("--sheet", help="sheet file name (default: judge-<model>.csv)")
    judge.add_argument("--temperature", type=float, default=0.0)
    judge.add_argument("--max-tokens", type=int, default=200)
    judge.add_argument("--retries", type=int, default=2, help="extra attempts when an answer cannot be read")
    judge.add_argument("--guideline", type=Path, help="guideline file (default: tasks/human_eval/guideline.md)")


def run(args: argparse.Namespace) -> int:
    return {"export": run_export, "import": run_import, "judge": run_judge_command}[args.human_command](args)


def run_export(args: argparse.Namespace) -> int:
    from escbench.harness.errors import ConfigError

    from .export import JUDGE_SHEET, select_conversations, select_dialogues, select_responses, write_export
    from escbench.harness.guideline import read_guideline

    if sum(bool(v) for v in (args.split, args.datasets, getattr(args, "conversations", None))) != 1:
        raise ConfigError("human export: give one of --split (rate system replies), --datasets (rate whole dialogues) "
                          "and --conversations (rate simulated conversations)")
    if args.n < 1:
        raise ConfigError("--n must be at least 1")
    guideline = read_guideline(args.guideline)
    if args.conversations:
        selection = select_conversations(args.results, args.conversations, args.n, args.seed, _names(args.systems) or None)
    elif args.datasets:
        from escbench.harness.plugins import get_host

        selection = select_dialogues(get_host(), _names(args.datasets), args.n, args.seed)
    else:
        selection = select_responses(args.results, args.split, args.n, args.seed, _names(args.systems) or None)
    written = write_export(args.out, selection, guideline, args.raters, args.seed)
    print(f"wrote {len(written)} files to {args.out}: give rater-K.csv or rater-K.html to rater K; "
          f"keep key.json away from raters", file=sys.stderr)
    if selection.prefilled:
        print(f"agreement of the interactive judge with the raters: escbench human import {args.out} "
              f"--judge {JUDGE_SHEET}", file=sys.stderr)
    return 0


def run_import(args: argparse.Namespace) -> int:
    from escbench.harness.display import read_display_schema
    from escbench.harness.jsonl import write_json_atomic
    from escbench.harness.plugins import get_host

    from .analysis import analyse, fleiss_by_dimension, read_key, read_ratings, results_table

    key = read_key(args.folder)
    renderer = get_host().renderers.get(args.format)()
    sheets = _names(args.sheets) or key["sheets"]
    ratings = read_ratings(args.folder, key, sheets)
    results = analyse(key, ratings)
    for extra in args.judge:
        with_extra = {**ratings, **read_ratings(args.folder, key, [extra])}
        results.kappa_with[Path(extra).stem] = fleiss_by_dimension(key, with_extra)
    write_json_atomic(args.folder / "summary.json", results.to_dict())
    text = renderer.render(results_table(results, read_display_schema(args.display), args.title or ""))
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        print(text)
    return 0


def run_judge_command(args: argparse.Namespace) -> int:
    from .analysis import read_key
    from escbench.harness.guideline import read_guideline
    from .judge import api_key_from, openai_chat, run_judge

    key = read_key(args.folder)
    chat = openai_chat(args.model, args.base_url, api_key_from(args.api_key_env), args.temperature, args.max_tokens)
    sheet = args.sheet or "judge-" + re.sub(r"[^A-Za-z0-9._-]+", "_", args.model) + ".csv"
    path = run_judge(args.folder, key, read_guideline(args.guideline), chat, sheet, retries=args.retries,
                     progress=lambda done, total: print(f"\rjudged {done}/{total}", end="", file=sys.stderr))
    print(f"\nwrote {path}; agreement with the raters: escbench human import {args.folder} --judge {sheet}",
          file=sys.stderr)
    return 0
