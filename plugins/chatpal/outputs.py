"""What every teacher command writes into its ``--out`` folder, atomically (readers see the old
or the new version, never half): the data, ``rejects.jsonl`` (one line per rejected answer,
with ``reason`` and ``detail``), ``report.json`` and ``report.md``; and the summary tables it
prints. The journal lives in the same folder unless ``--journal`` says otherwise."""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from escbench.harness.jsonl import write_atomic, write_json_atomic, write_jsonl_atomic

from .pricing import Usage
from .qa import REASONS

TEACHER_REASONS = {  # reason codes of teacher failures, next to the QA ones of .qa
    "request_failed": "the request failed on transient errors after every retry (sent again on the next run)",
    "request_rejected": "the server refused the request for good, e.g. HTTP 400 (recorded; not sent again "
                        "unless --retry-failed)",
    "not_sent": "not sent: the run stopped on a setting error (fix it and run again)",
    "refused": "the model refused to answer, or the server filtered the answer",
    "truncated": "the answer stopped at max_tokens (finish_reason length); nothing cut off is kept",
    "copied_turn": "a reply copied from another supporter turn of the same dialogue",
}
from .tables import SimpleTable


def usage_table(this_run: Usage, journal_total: Usage, model: str) -> SimpleTable:
    def cost(usage: Usage) -> str:
        if usage.cost is None:
            return "unknown (model not in the price table)"
        shown = f"{usage.cost:.4f} {usage.currency}"
        return f"at least {shown} ({usage.unknown_usage} answers without token counts)" if usage.unknown_usage else shown

    rows = [["HTTP requests sent (retries included)", this_run.requests_sent, ""],
            ["retries", this_run.retries, ""],
            ["answers taken from the journal", this_run.from_journal, ""],
            ["requests failed after all retries", this_run.failed, ""],
            ["answers without token counts (tokens unknown)", this_run.unknown_usage, journal_total.unknown_usage],
            ["prompt tokens", this_run.prompt_tokens, journal_total.prompt_tokens],
            ["completion tokens", this_run.completion_tokens, journal_total.completion_tokens],
            ["estimated cost", cost(this_run), cost(journal_total)]]
    return SimpleTable("usage", f"Teacher usage ({model})", ["", "this run", "journal, all runs"], rows)


def reasons_table(rejected: Counter[str], accepted: int) -> SimpleTable:
    total = accepted + sum(rejected.values())
    rows = [["accepted", accepted, _share(accepted, total), ""]]
    rows += [[f"rejected: {reason}", count, _share(count, total), TEACHER_REASONS.get(reason, REASONS.get(reason, ""))]
             for reason, count in sorted(rejected.items(), key=lambda item: (-item[1], item[0]))]
    return SimpleTable("outcomes", "Answers by outcome", ["outcome", "count", "share", "meaning"], rows)


def _share(count: int, total: int) -> str:
    return f"{100 * count / total:.1f}%" if total else "-"


def write_outputs(out: Path, data: dict[str, Any], rejects: list[dict], report: dict,
                  tables: list[SimpleTable]) -> list[Path]:
    """Write ``data`` (file name -> JSON value, or list of records for ``*.jsonl``), the rejects
    and the report; returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, value in data.items():
        path = out / name
        if name.endswith(".jsonl"):
            write_jsonl_atomic(path, value)
        else:
            write_json_atomic(path, value)
        written.append(path)
    write_jsonl_atomic(out / "rejects.jsonl", rejects)
    write_json_atomic(out / "report.json", {**report, "tables": [t.to_json() for t in tables]})
    title = report.get("title", "escbench pipeline report")
    lines = [f"# {title}", ""] + [f"- {key}: {value}" for key, value in report.get("summary", {}).items()]
    write_atomic(out / "report.md", "\n".join(lines) + "\n\n" + "\n".join(t.to_markdown() for t in tables))
    return written + [out / "rejects.jsonl", out / "report.json", out / "report.md"]
