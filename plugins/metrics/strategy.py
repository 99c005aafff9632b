"""Strategy prediction: accuracy and macro-F1 against the reference strategy (beyond the paper).

Scored over the samples that have a reference strategy (the others get None). When no
sample has one, or the system predicted no strategy at all, ``compute`` raises
MetricNotApplicableError (the run records the metric as skipped) instead of reporting a
meaningless zero; ``score`` returns no column, so bootstrap resamples stay well defined. Names on both sides are matched
through the strategy catalog (names, abbreviations, aliases; ``catalog=extes`` by default),
a name the catalog does not know is compared as written. A sample without a predicted
strategy counts as wrong. Macro-F1 is the unweighted mean of per-strategy F1 over every
strategy that occurs as a reference or a prediction (F1 = 0 for a strategy never predicted
correctly), as scikit-learn's ``f1_score(average="macro", zero_division=0)``. Both x100.
"""
from __future__ import annotations

from typing import ClassVar, Sequence

from harness.errors import EscbenchError
from harness.registry import Sample

from .base import CorpusMetric, MeanScores


def macro_f1(references: Sequence[str], predictions: Sequence[str | None]) -> float:
    """Unweighted mean F1 (0..1) over the labels in ``references`` and (non-None) ``predictions``."""
    labels = sorted(set(references) | {p for p in predictions if p is not None})
    scores = []
    for label in labels:
        true_pos = sum(1 for r, p in zip(references, predictions) if r == label and p == label)
        predicted = sum(1 for p in predictions if p == label)
        actual = sum(1 for r in references if r == label)
        denominator = predicted + actual
        scores.append(2 * true_pos / denominator if denominator else 0.0)
    return sum(scores) / len(scores) if scores else 0.0


class StrategyScores(MeanScores):
    """Accuracy as the mean of per-sample hits (None where no reference strategy); macro-F1
    recomputed from the labelled samples among those chosen (per-sample F1 is None)."""

    def __init__(self, references: list[str | None], predictions: list[str | None],
                 scale: float = 100.0):
        hits = [None if r is None else float(r == p) for r, p in zip(references, predictions)]
        super().__init__({"Strat-Acc": hits}, scale)
        self.columns = ("Strat-Acc", "Strat-F1")
        self._references, self._predictions = references, predictions
        self.per_sample["Strat-F1"] = [None] * len(references)

    def corpus(self, indices=None) -> dict[str, float]:
        out = super().corpus(indices)
        chosen = range(len(self._references)) if indices is None else indices.tolist()
        chosen = [i for i in chosen if self._references[i] is not None]
        out["Strat-F1"] = macro_f1([self._references[i] for i in chosen],
                                   [self._predictions[i] for i in chosen]) * self.scale
        return out


class StrategyAccuracy(CorpusMetric):
    """Accuracy and macro-F1 of predicted strategies, x100."""

    name: ClassVar[str] = "strategy"
    description: ClassVar[str] = ("strategy prediction accuracy and macro-F1 against the "
                                  "reference strategy (catalog-normalised names), x100")
    columns: ClassVar[Sequence[str]] = ("Strat-Acc", "Strat-F1")

    def __init__(self, catalog: str = "extes"):
        self.catalog = catalog

    def _normalise(self, name: str | None, catalog) -> str | None:
        if name is None or not name.strip():
            return None
        try:
            return catalog.normalize(name)
        except EscbenchError:
            return name.strip()

    def score(self, samples: Sequence[Sample]) -> StrategyScores:
        from harness.catalogs import load_strategy_catalog

        labelled = [s for s in samples if s.strategy]
        if not labelled or not any(s.predicted_strategy for s in labelled):
            # Not applicable (no reference labels, or a system that predicts no strategy):
            # report no column rather than a zero accuracy.
            return MeanScores({})
        catalog = load_strategy_catalog(self.catalog)
        references = [self._normalise(s.strategy, catalog) for s in samples]
        predictions = [self._normalise(s.predicted_strategy, catalog) for s in samples]
        return StrategyScores(references, predictions)

    def compute(self, samples: Sequence[Sample]) -> MetricResult:
        from harness.errors import MetricNotApplicableError

        labelled = [s for s in samples if s.strategy]
        if not labelled:
            raise MetricNotApplicableError(self.name, "no sample has a reference strategy")
        if not any(s.predicted_strategy for s in labelled):
            raise MetricNotApplicableError(self.name, "the system predicted no strategy")
        return super().compute(samples)
