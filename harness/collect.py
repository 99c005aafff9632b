"""Results records for a leaderboard: read them from folders, keep the newest per system and
split (refusing conflicting duplicates), and read the samples file behind a row."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from escbench.harness.errors import ConfigError
from escbench.harness.table import Table


def collect_records(paths: list[Path]) -> tuple[list[dict], list[Path]]:
    """Results records under ``paths`` and the file of each. A JSON file that is not a record
    is offered to the plugins' ``read_foreign_results`` hook (e.g. lm-eval results become
    records, several per file); one no plugin reads (``*.scores.json``, a human-evaluation
    key...) is skipped with a note on stderr. A file that cannot be read (truncated, empty, not
    JSON) or has a newer schema is skipped with a warning naming it; a record whose fields have
    the wrong type is a DataError naming the file and field (:func:`check_record`)."""
    import sys

    from escbench.harness.errors import DataError
    from escbench.harness.results import find_records, read_record

    records, sources = [], []
    for path in find_records(paths):
        if path.name.endswith(".scores.json"):
            continue
        try:
            records.append(check_record(read_record(path), path))
        except DataError as error:
            if "cannot read results record" in str(error) or "newer than" in str(error):
                # One truncated, empty or future-schema file must not hide the others.
                print(f"warning: skipped {path}: {error.problem}", file=sys.stderr)
                continue
            if "not an escbench results record" not in str(error):
                raise
            foreign = read_foreign_records(path)
            if not foreign:
                print(f"note: skipped {path} (not a results record)", file=sys.stderr)
            records.extend(check_record(r, path) for r in foreign or [])
            sources.extend([path] * len(foreign or []))
            continue
        sources.append(path)
    return records, sources


def check_record(record: dict, path: Path | None) -> dict:
    """``record`` if the fields a leaderboard reads have the right types; DataError naming the
    file and the field otherwise (a string or list score, a missing split, ...)."""
    from escbench.harness.errors import DataError

    where = str(path) if path else None
    system = record.get("system")
    if not isinstance(system, dict) or not isinstance(system.get("name"), str) or not system["name"]:
        raise DataError(f"field 'system.name' must be a non-empty string, got {system!r:.80}", where)
    split = record.get("split")
    if not isinstance(split, dict) or not isinstance(split.get("name"), str) or not split["name"]:
        raise DataError(f"field 'split.name' is missing or not a string (split = {split!r:.80})", where)
    scores = record.get("scores")
    if not isinstance(scores, dict):
        raise DataError(f"field 'scores' must map column names to numbers, got {type(scores).__name__}", where)
    for name, value in scores.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise DataError(f"field 'scores.{name}' must be a number, got {type(value).__name__} {value!r:.40}", where)
    for field in ("score_meta", "counts"):
        if not isinstance(record.get(field, {}), dict):
            raise DataError(f"field {field!r} must be a mapping, got {type(record[field]).__name__}", where)
    return record


def read_foreign_records(path: Path) -> list[dict] | None:
    """Records converted from another tool's results file by the first plugin whose
    ``read_foreign_results`` hook recognises it, or None. A plugin that raises is reported
    with the plugin failures (``escbench leaderboard`` then exits 1)."""
    from escbench.harness.plugins import get_host

    for _plugin, converted in get_host().call_each("read_foreign_results", path=path):
        return list(converted)
    return None


def _identity(record: dict) -> dict[str, Any]:
    from escbench.harness.cache import stable_hash

    system = record.get("system", {})
    return {
        "system configuration": system.get("config_sha256") or stable_hash(system.get("config")),
        "examples": record.get("split", {}).get("examples_sha256"),
        "generation settings": json.dumps(record.get("generation"), sort_keys=True),
    }


# Row order of the paper's Tables 5-7; other systems follow in alphabetical order.
PAPER_SYSTEM_ORDER = ("chatgpt", "ask-expert", "llama", "augesc", "augesc+dri", "chatpal-w/o-dri", "chatpal")


def system_rank(name: str) -> tuple[int, str]:
    """Sort key giving rows the paper's order, then alphabetical order."""
    order = PAPER_SYSTEM_ORDER.index(name) if name in PAPER_SYSTEM_ORDER else len(PAPER_SYSTEM_ORDER)
    return order, name


def record_rank(record: dict) -> tuple[int, str, str]:
    """Sort key of a record's row: the paper order its system declares (records written before
    systems declared one: the name's place in :data:`PAPER_SYSTEM_ORDER`), then systems with
    none, alphabetically; labels of one system by label."""
    from escbench.harness.results import record_label, record_paper_order

    name = record["system"]["name"]
    declared = record_paper_order(record)
    if declared is None:
        declared = PAPER_SYSTEM_ORDER.index(name) + 1 if name in PAPER_SYSTEM_ORDER else 10 ** 6
    return declared, name, record_label(record)


def newest_records(records: list[dict], sources: list[Path | None] | None = None) -> list[tuple[dict, Path | None]]:
    """One ``(record, source file)`` per (system or label, split): the newest by ``created_at``. Two
    records of the same pair made with a different system config, examples or generation
    settings are not duplicates but a conflict: ConfigError naming both sources. Rows come
    in :func:`record_rank` order, whatever order the records were written in."""
    from escbench.harness.results import record_label

    sources = sources or [None] * len(records)
    chosen: dict[tuple[str, str], tuple[dict, Path | None]] = {}
    for record, source in sorted(zip(records, sources), key=lambda pair: pair[0].get("created_at", "")):
        key = (record_label(record), record.get("split", {}).get("name", ""))
        if key in chosen:
            before, before_source = chosen[key]
            old, new = _identity(before), _identity(record)
            differing = [what for what in old if old[what] != new[what]]
            if differing:
                raise ConfigError(
                    f"{_where(before, before_source)} and {_where(record, source)} both hold system {key[0]!r} on split {key[1]!r} but "
                    f"with different {' and '.join(differing)}; keep one of them (or rename the system) "
                    "before building the leaderboard")
        chosen[key] = (record, source)
    return sorted(chosen.values(), key=lambda pair: record_rank(pair[0]))


def _where(record: dict, source: Path | None) -> str:
    return str(source) if source else f"the record written {record.get('created_at', '?')}"


# -- per-sample data behind the rows --------------------------------------------------------
def read_samples(details: dict[str, Any]) -> list[dict]:
    """Lines of the samples file of the record behind a row ([] when the row's record was
    not read from a file); DataError when the record names a file that is missing or bad."""
    from escbench.harness.errors import DataError
    from escbench.harness.jsonl import read_records

    source, name = details.get("source"), details.get("samples_file")
    if not source or not name:
        return []
    path = Path(source).parent / name
    if not path.exists():
        raise DataError(f"samples file {name!r} named by the record is missing", path=str(path))
    try:
        return list(read_records(path))
    except ValueError as error:
        raise DataError(str(error), path=str(path)) from None


SAMPLE_FIELDS = ("id", "context", "reference", "strategy", "prediction", "predicted_strategy")


def attach_samples(table: Table, limit: int) -> None:
    """Fill ``table.samples`` with the first ``limit`` samples of each row (for the HTML page)."""
    for row in table.rows:
        rows = read_samples(table.details.get(row, {}))[:limit]
        table.samples[row] = [{key: sample.get(key) for key in SAMPLE_FIELDS} for sample in rows]
