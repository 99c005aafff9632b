"""Existing generations scored without a system: ``escbench score FILE``.

Input: JSONL, one object per line with ``prediction`` and ``reference`` (optional ``id``,
``strategy``, ``predicted_strategy``) — which is also the shape of a run's samples file.
"""
from __future__ import annotations

from pathlib import Path

from .cache import stable_hash
from .errors import DataError
from .registry import Sample
from .results import SCHEMA, environment_info, now_iso


def read_samples_file(path: Path) -> list[Sample]:
    """Samples from a JSONL file; DataError names the line and the missing/bad field."""
    import json

    path = Path(path)
    if not path.exists():
        raise DataError("file not found", path=str(path))
    samples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(f"not valid JSON ({error.msg}, column {error.colno})", str(path), f"line {number}") from None
        if not isinstance(row, dict):
            raise DataError("expected a JSON object", str(path), f"line {number}")
        for field in ("prediction", "reference"):
            if not isinstance(row.get(field), str):
                raise DataError(f"missing or non-string field {field!r}", str(path), f"line {number}")
        samples.append(Sample(
            id=str(row.get("id", number)), prediction=row["prediction"], reference=row["reference"],
            strategy=row.get("strategy"), predicted_strategy=row.get("predicted_strategy"),
        ))
    if not samples:
        raise DataError("no samples in file", path=str(path))
    return samples


def scores_record(path: Path, samples: list[Sample], specs, scored, label: str | None = None) -> dict:
    """A results-record-shaped dict for scores of an existing file (no system config)."""
    name = label or Path(path).stem
    return {
        "schema": SCHEMA,
        "created_at": now_iso(),
        "system": {"name": name, "plugin": None, "args": {}, "config": {"scored_file": str(path)}},
        "split": {"name": f"file:{Path(path).name}", "source": str(path), "n_examples": len(samples),
                  "examples_sha256": stable_hash([[s.id, s.reference] for s in samples])},
        "metrics": [{"name": n, "args": a} for n, a in specs],
        "scores": scored.scores,
        "score_meta": scored.meta,
        "metric_errors": scored.errors,
        "counts": {"examples": len(samples)},
        "environment": environment_info(),
    }
