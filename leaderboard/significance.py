"""Confidence intervals and significance marks for a leaderboard table, by bootstrap over examples.

Each row's examples come from its samples file. A column's corpus value is recomputed
exactly on resampled examples by the metric that produced it (re-scored with the record's
metric arguments, e.g. BLEU from summed counts); when that metric cannot run here, the
per-sample scores in the file are used instead, but only for columns whose corpus value is
their mean. A best cell is marked only when a paired bootstrap test against the runner-up
of its group gives p < ``alpha``.
"""
from __future__ import annotations

from typing import Any

from harness.data import Turn
from harness.errors import EscbenchError
from harness.registry import Sample
from harness.table import Table

from .collect import read_samples

MARK = "†"


def _samples(rows: list[dict]) -> list[Sample]:
    return [Sample(id=str(r["id"]), prediction=r.get("prediction") or "", reference=r.get("reference") or "",
                   strategy=r.get("strategy"), predicted_strategy=r.get("predicted_strategy"),
                   context=tuple(Turn(t.get("role", "user"), t.get("text", ""), t.get("strategy"))
                                 for t in r.get("context") or ()))
            for r in rows]


class RowScores:
    """Re-aggregatable scores (``CorpusScores``) of one table row, per column, built lazily."""

    def __init__(self, table: Table, row: str, host: Any):
        self.details = table.details.get(row, {})
        self.rows = read_samples(self.details)
        self.ids = [str(r["id"]) for r in self.rows]
        self.host = host
        self._by_metric: dict[str, Any] = {}
        self.problems: dict[str, str] = {}

    def for_column(self, column: str, recorded: float | None):
        """CorpusScores covering ``column`` or None (the reason is kept in ``problems``)."""
        from plugins.metrics.base import MeanScores

        if not self.rows or recorded is None:
            self.problems[column] = "no samples file next to the record"
            return None
        metric = (self.details.get("score_meta") or {}).get(column, {}).get("metric")
        exact, reason = self._rescored(metric) if metric else (None, "the record does not say which metric made it")
        if exact is not None and column in exact.columns:
            return exact
        values = [r.get("scores", {}).get(column) for r in self.rows]
        present = [v for v in values if v is not None]
        if present and abs(sum(present) / len(present) - recorded) <= 1e-6 * max(1.0, abs(recorded)):
            return MeanScores({column: values}, scale=1.0)
        self.problems[column] = f"not a mean of per-sample scores, and re-scoring failed ({reason or 'no score()'})"
        return None

    def _rescored(self, metric: str) -> tuple[Any, str]:
        """The metric's CorpusScores on this row's samples, or (None, why not)."""
        if metric not in self._by_metric:
            from harness.scoring import build_metric

            args = next((m.get("args") or {} for m in self.details.get("metrics") or [] if m.get("name") == metric), {})
            try:
                built = build_metric(self.host.metrics, metric, args)
                scored = built.score(_samples(self.rows)) if hasattr(built, "score") else None
                self._by_metric[metric] = (scored, "" if scored is not None else f"metric {metric!r} has no score()")
            except EscbenchError as error:
                self._by_metric[metric] = (None, str(error))
        return self._by_metric[metric]


def annotate_uncertainty(table: Table, host: Any, intervals: bool = True, significance: bool = True,
                         resamples: int = 1000, seed: int = 0, alpha: float = 0.05) -> None:
    """Fill ``table.intervals`` (95% percentile bootstrap) and ``table.marks`` in place and
    add notes saying what was done and which columns could not be annotated."""
    from plugins.metrics.bootstrap import confidence_intervals

    scores = {row: RowScores(table, row, host) for row in table.rows}
    for column in table.columns:
        built = {row: scores[row].for_column(column.name, table.value(row, column)) for row in table.rows}
        if intervals:
            for row, corpus in built.items():
                if corpus is not None:
                    interval = confidence_intervals(corpus, resamples=resamples, seed=seed)[column.name]
                    table.intervals.setdefault(row, {})[column.name] = (interval.low, interval.high)
        if significance and column.ranked:
            for _, members in table.row_groups():
                _mark_best(table, column, members, built, scores, resamples, seed, alpha)
    skipped = sorted({c for s in scores.values() for c in s.problems if c in {col.name for col in table.columns}})
    if intervals:
        table.notes.append(f"±: half-width of the 95% bootstrap interval ({resamples} resamples of the examples).")
    if significance:
        table.notes.append(f"{MARK}: better than the runner-up in a paired bootstrap test (p < {alpha:g}).")
    if skipped:
        reasons = "; ".join(f"{c}: {next(s.problems[c] for s in scores.values() if c in s.problems)}" for c in skipped)
        table.notes.append(f"Not annotated: {reasons}.")


def _mark_best(table: Table, column, members: list[str], built: dict, scores: dict[str, RowScores],
               resamples: int, seed: int, alpha: float) -> None:
    present = [r for r in members if table.value(r, column) is not None and built[r] is not None]
    ordered = sorted(present, key=lambda r: table.value(r, column), reverse=column.higher_is_better)
    if len(ordered) < 2:
        return
    best, runner_up = ordered[0], ordered[1]
    if table.value(best, column) == table.value(runner_up, column) or scores[best].ids != scores[runner_up].ids:
        return
    from plugins.metrics.bootstrap import paired_bootstrap

    comparison = paired_bootstrap(built[best], built[runner_up], resamples=resamples, seed=seed)[column.name]
    if comparison.p_value < alpha:
        table.marks.setdefault(best, {})[column.name] = MARK
