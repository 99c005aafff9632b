"""Confidence intervals and significance marks for a leaderboard table, by bootstrap over examples.

Each row's examples come from its samples file. A column's corpus value is recomputed
exactly on resampled examples by the metric that produced it (re-scored with the record's
metric arguments, e.g. BLEU from summed counts); when that metric cannot run here, the
per-sample scores in the file are used instead, but only for columns whose corpus value is
their mean. A best cell is marked only when a paired bootstrap test against the runner-up
of its group gives p < ``alpha``.

Intervals and marks come only from samples that reproduce the record: the samples file must
hold as many examples as the record counts, their hash must equal the record's
``examples_sha256``, and the corpus value recomputed from them must equal the recorded score
(relative 1e-6). Otherwise the cell keeps its value, gets no interval or mark, and a note
names the record and what differs.
"""
from __future__ import annotations

from typing import Any

from escbench.harness.collect import read_samples
from escbench.harness.data import Turn
from escbench.harness.errors import EscbenchError
from escbench.harness.registry import Sample
from escbench.harness.table import Table

MARK = "†"


def _samples(rows: list[dict]) -> list[Sample]:
    return [Sample(id=str(r["id"]), prediction=r.get("prediction") or "", reference=r.get("reference") or "",
                   strategy=r.get("strategy"), predicted_strategy=r.get("predicted_strategy"),
                   context=tuple(Turn(t.get("role", "user"), t.get("text", ""), t.get("strategy"))
                                 for t in r.get("context") or ()))
            for r in rows]


EXAMPLE_KEYS = ("id", "dialogue_id", "turn_index", "scene", "description", "context", "reference", "strategy")


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(b))


def examples_hashes(rows: list[dict]) -> set[str]:
    """The hashes a record's ``examples_sha256`` may hold for these samples: the runner's
    (each example's JSON form) and ``escbench score``'s (ids and references)."""
    import hashlib
    import json

    from escbench.harness.cache import stable_hash

    hashes = {stable_hash([[str(r.get("id")), r.get("reference")] for r in rows])}
    if all(all(key in r for key in EXAMPLE_KEYS) for r in rows):
        digest = hashlib.sha256()
        for r in rows:
            digest.update(json.dumps({key: r[key] for key in EXAMPLE_KEYS}, sort_keys=True).encode())
        hashes.add(digest.hexdigest())
    return hashes


class RowScores:
    """Re-aggregatable scores (``CorpusScores``) of one table row, per column, built lazily.
    ``mismatch`` says why the samples file does not reproduce the record (empty when it does)."""

    def __init__(self, table: Table, row: str, host: Any):
        self.details = table.details.get(row, {})
        self.rows = read_samples(self.details)
        self.ids = [str(r.get("id")) for r in self.rows]
        self.host = host
        self._by_metric: dict[str, Any] = {}
        self.problems: dict[str, str] = {}
        self.mismatch: dict[str, str] = {}
        self.where = f"{table.label(row)} ({self.details.get('source') or 'record without a file'})"
        self._check_examples()

    def _check_examples(self) -> None:
        if not self.rows:
            return
        expected = (self.details.get("counts") or {}).get("examples")
        if isinstance(expected, int) and expected != len(self.rows):
            self.mismatch["*"] = (f"its samples file holds {len(self.rows)} examples, the record "
                                  f"counts {expected}")
            return
        recorded_hash = self.details.get("examples_sha256")
        if recorded_hash and recorded_hash not in examples_hashes(self.rows):
            self.mismatch["*"] = "its samples file holds other examples than the record was scored on (hash differs)"

    def for_column(self, column: str, recorded: float | None):
        """CorpusScores covering ``column`` that reproduce ``recorded``, or None (the reason is
        kept in ``problems``, or in ``mismatch`` when the samples disagree with the record)."""
        from escbench.harness.resampling import MeanScores

        if not self.rows or recorded is None:
            self.problems[column] = "no samples file next to the record"
            return None
        if "*" in self.mismatch:
            return None
        metric = (self.details.get("score_meta") or {}).get(column, {}).get("metric")
        exact, reason = self._rescored(metric) if metric else (None, "the record does not say which metric made it")
        if exact is not None and column in exact.columns:
            value = exact.corpus()[column]
            if _same(value, recorded):
                return exact
            self.mismatch[column] = f"{column} recomputed from its samples is {value:.4g}, the record says {recorded:.4g}"
            return None
        values = [r.get("scores", {}).get(column) for r in self.rows]
        present = [v for v in values if isinstance(v, (int, float))]
        if present and len(present) == len([v for v in values if v is not None]) \
                and _same(sum(present) / len(present), recorded):
            return MeanScores({column: [v if isinstance(v, (int, float)) else None for v in values]}, scale=1.0)
        self.problems[column] = f"not a mean of per-sample scores, and re-scoring failed ({reason or 'no score()'})"
        return None

    def _rescored(self, metric: str) -> tuple[Any, str]:
        """The metric's CorpusScores on this row's samples, or (None, why not)."""
        if metric not in self._by_metric:
            from escbench.harness.scoring import build_metric

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
    from escbench.harness.resampling import confidence_intervals

    scores = {row: RowScores(table, row, host) for row in table.rows}
    jackknifed: set[str] = set()
    for column in table.columns:
        built = {row: scores[row].for_column(column.name, table.value(row, column)) for row in table.rows}
        jackknifed.update(column.name for b in built.values()
                          if b is not None and getattr(b, "interval_method", "") == "jackknife")
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
        also = (f"; {', '.join(sorted(jackknifed))}: delete-one jackknife, since resampling repeats replies "
                "and lowers Distinct-n") if jackknifed else ""
        table.notes.append(f"±: half-width of the 95% interval (percentile bootstrap, {resamples} resamples of "
                           f"the examples{also}).")
    if significance:
        table.notes.append(f"{MARK}: better than the runner-up in a paired test (p < {alpha:g}; bootstrap, "
                           "or jackknife for Distinct-n).")
    if skipped:
        reasons = "; ".join(f"{c}: {next(s.problems[c] for s in scores.values() if c in s.problems)}" for c in skipped)
        table.notes.append(f"Not annotated: {reasons}.")
    for row_scores in scores.values():
        if row_scores.mismatch:
            table.notes.append(f"No interval or mark for {row_scores.where}: "
                               + "; ".join(row_scores.mismatch.values()) + ".")


def _mark_best(table: Table, column, members: list[str], built: dict, scores: dict[str, RowScores],
               resamples: int, seed: int, alpha: float) -> None:
    from escbench.harness.table import finite

    present = [r for r in members if finite(table.value(r, column))]
    ordered = sorted(present, key=lambda r: table.value(r, column), reverse=column.higher_is_better)
    if len(ordered) < 2:
        return
    best, runner_up = ordered[0], ordered[1]
    if built[best] is None or built[runner_up] is None:
        return  # a comparison with any other row would mark a value that is not the best shown
    if table.value(best, column) == table.value(runner_up, column) or scores[best].ids != scores[runner_up].ids:
        return
    from escbench.harness.resampling import paired_bootstrap

    comparison = paired_bootstrap(built[best], built[runner_up], resamples=resamples, seed=seed)[column.name]
    if comparison.p_value < alpha:
        table.marks.setdefault(best, {})[column.name] = MARK
