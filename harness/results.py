"""The results record: one JSON per (system, split), plus a samples JSONL beside it.

Schema ``escbench.results/1`` (documented in README "Results records")::

    schema        "escbench.results/1"
    created_at    ISO-8601 UTC time the record was written
    system        {name, plugin, args, config, config_sha256}
    split         {name, yaml, yaml_sha256, source, source_sha256, n_dialogues, n_examples,
                   examples_sha256, limit, partition, filters}
    generation    decoding settings {do_sample, temperature, top_p, max_new_tokens, seed, batch_size}
    scores        {column: value}            corpus-level, paper scale
    score_meta    {column: {metric, higher_is_better}}
    metric_errors {metric: message}          metrics that could not run (the run exits 1)
    metric_skipped {metric: reason}          metrics that do not apply to these outputs
    counts        {examples, generated, cached, empty_generations}
    timings       {generation_s, scoring_s, total_s}
    usage         {prompt_tokens, completion_tokens}
    environment   {escbench, python, platform, packages{...}, git_commit}
    system.label / .display_name / .paper_order: the run's name for this configuration of the
                  system ("ChatPal k=2"; null without one), and the name and paper row the
                  system declares (shown by leaderboards; see record_display_name)
    samples_file  file name of the per-example JSONL (same folder)

Each samples line: {id, dialogue_id, turn_index, scene, context, reference, strategy,
prediction, predicted_strategy, scores{column: value}}.
"""
from __future__ import annotations

import json
import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from .errors import DataError

SCHEMA = "escbench.results/1"
RECORDED_PACKAGES = ("torch", "transformers", "peft", "nltk", "gensim", "numpy", "openai", "pluggy", "lm_eval")


def environment_info() -> dict:
    """Versions and provenance recorded in every results record."""
    packages = {}
    for name in RECORDED_PACKAGES:
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            continue
    return {
        "escbench": _own_version(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": packages,
        "git_commit": _git_commit(),
    }


def _own_version() -> str:
    from . import __version__

    return __version__


def _git_commit() -> str | None:
    try:
        root = Path(__file__).resolve().parent.parent
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def record_stem(system: str, split: str) -> str:
    safe = lambda s: "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in s)  # noqa: E731
    return f"{safe(system)}__{safe(split)}"


def record_label(record: dict) -> str:
    """What tells a record's row apart from other rows: its label, else the system name."""
    system = record.get("system", {})
    return system.get("label") or system.get("name", "")


def record_display_name(record: dict) -> str:
    """The row's text in tables: label, else the system's display name, else its name."""
    system = record.get("system", {})
    return system.get("label") or system.get("display_name") or system.get("name", "")


def record_paper_order(record: dict) -> int | None:
    """The paper's row position of the record's system (None when it declares none)."""
    return record.get("system", {}).get("paper_order")


def read_record(path: Path) -> dict:
    """Read a results record, upgrading older schema versions; DataError if it is not one."""
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise DataError(f"cannot read results record: {error}", path=str(path)) from None
    if not isinstance(record, dict) or "scores" not in record or "system" not in record:
        raise DataError("not an escbench results record (no 'system'/'scores')", path=str(path))
    return upgrade_record(record)


def upgrade_record(record: dict) -> dict:
    """Bring a record of any known schema to the current one (no-op for the current)."""
    schema = record.get("schema", "escbench.results/0")
    if schema == "escbench.results/0":
        # 0: pre-release layout with system as a plain name and no score_meta.
        if isinstance(record.get("system"), str):
            record["system"] = {"name": record["system"]}
        if isinstance(record.get("split"), str):
            record["split"] = {"name": record["split"]}
        record.setdefault("score_meta", {})
        record["schema"] = SCHEMA
    elif schema != SCHEMA:
        raise DataError(f"results schema {schema!r} is newer than this escbench understands ({SCHEMA})")
    return record


def find_records(paths: list[Path]) -> list[Path]:
    """Results JSON files in the given files/folders (recursively), sorted."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(p for p in path.rglob("*.json") if not p.name.startswith("."))
        elif path.exists():
            found.append(path)
    return sorted(set(found))
