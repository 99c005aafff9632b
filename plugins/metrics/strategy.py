"""Strategy prediction: accuracy and macro-F1 against the reference strategy (beyond the paper).

Gold labels and predictions are compared in the split's own catalog (``catalog=auto``: the
shipped catalog whose names the gold labels are, see :func:`split_catalog`; or
``catalog=esconv|extes``). A prediction named in another catalog is translated only through
the split catalog's documented ``mapped_from`` table (``tasks/catalogs/strategies-esconv.yaml``
maps the 16 ExTES strategies onto ESConv's 8); without one the metric is not applicable,
with the reason, instead of reporting a near-zero accuracy.

Scored over the samples that have a reference strategy (the others get None). When no
sample has one, or the system predicted no strategy at all, ``compute`` raises
MetricNotApplicableError (the run records the metric as skipped) instead of reporting a
meaningless zero; ``score`` returns no column, so bootstrap resamples stay well defined.
Names on both sides are matched through the strategy catalog (names, abbreviations, aliases); a name no catalog knows is
compared as written. A sample without a predicted
strategy counts as wrong. Macro-F1 is the unweighted mean of per-strategy F1 over every
strategy that occurs as a reference or a prediction (F1 = 0 for a strategy never predicted
correctly), as scikit-learn's ``f1_score(average="macro", zero_division=0)``. Both x100.
"""
from __future__ import annotations

from typing import ClassVar, Sequence

from escbench.harness.errors import EscbenchError, MetricNotApplicableError
from escbench.harness.registry import MetricResult, Sample
from escbench.harness.resampling import MeanScores

from .base import CorpusMetric


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
    """Accuracy and macro-F1 of predicted strategies, x100, in the split's own catalog."""

    name: ClassVar[str] = "strategy"
    description: ClassVar[str] = ("strategy prediction accuracy and macro-F1 against the "
                                  "reference strategy, in the split's own catalog, x100")
    columns: ClassVar[Sequence[str]] = ("Strat-Acc", "Strat-F1")

    def __init__(self, catalog: str = "auto"):
        self.catalog = catalog

    def score(self, samples: Sequence[Sample]) -> MeanScores:
        try:
            return self._scores(samples)
        except MetricNotApplicableError:
            # Not applicable: report no column rather than a meaningless zero.
            return MeanScores({})

    def compute(self, samples: Sequence[Sample]) -> MetricResult:
        self._scores(samples)  # raises MetricNotApplicableError with the reason
        return super().compute(samples)

    def _scores(self, samples: Sequence[Sample]) -> StrategyScores:
        labelled = [s for s in samples if s.strategy]
        if not labelled:
            raise MetricNotApplicableError(self.name, "no sample has a reference strategy")
        if not any(s.predicted_strategy for s in labelled):
            raise MetricNotApplicableError(self.name, "the system predicted no strategy")
        home = split_catalog([s.strategy for s in labelled], self.catalog)
        references = [_normalise(s.strategy, home) if s.strategy else None for s in samples]
        predictions = [in_catalog(s.predicted_strategy, home, self.name) for s in samples]
        return StrategyScores(references, predictions)


def _normalise(name: str | None, catalog) -> str | None:
    """Canonical name in ``catalog``; a name it does not know is kept as written."""
    if name is None or not name.strip():
        return None
    try:
        return catalog.normalize(name)
    except EscbenchError:
        return name.strip()


def catalog_names() -> list[str]:
    """The strategy catalogs shipped in ``tasks/catalogs`` (``strategies-NAME.yaml``)."""
    from escbench.harness.paths import CATALOGS_DIR

    return sorted(p.stem.removeprefix("strategies-") for p in CATALOGS_DIR.glob("strategies-*.yaml"))


def split_catalog(references: Sequence[str], requested: str = "auto"):
    """The catalog the split's gold labels are written in: ``requested`` unless ``"auto"``;
    otherwise the shipped catalog whose canonical names include every label (the loaders
    write canonical names), then one that recognises every label, else ExTES."""
    from escbench.harness.catalogs import load_strategy_catalog

    if requested != "auto":
        return load_strategy_catalog(requested)
    catalogs = [load_strategy_catalog(name) for name in catalog_names()]
    labels = set(references)
    for test in (lambda c: labels <= set(c.names), lambda c: all(label in c for label in labels)):
        found = [c for c in catalogs if test(c)]
        if found:
            # Several fit (e.g. every label is "Others"): the one with fewer strategies is the
            # coarser and the safer guess; ties go to alphabetical order.
            return min(found, key=lambda c: (len(c.names), c.name))
    return load_strategy_catalog("extes")


def mappings_into(catalog) -> dict[str, dict[str, str]]:
    """``mapped_from`` of the catalog's YAML: other catalog -> {its name: this catalog's name}."""
    import yaml

    if not catalog.source:
        return {}
    raw = yaml.safe_load(open(catalog.source, encoding="utf-8")) or {}
    return {str(k): {str(a): str(b) for a, b in (v or {}).items()} for k, v in (raw.get("mapped_from") or {}).items()}


def in_catalog(name: str | None, home, metric: str = "strategy") -> str | None:
    """A predicted strategy as a name of the split's catalog ``home``: its own name, or one of
    another catalog mapped through ``home``'s documented ``mapped_from`` table. A name of
    another catalog without such a mapping makes the metric not applicable; a name no
    catalog knows is kept as written (it counts as wrong)."""
    from escbench.harness.catalogs import load_strategy_catalog

    if name is None or not name.strip():
        return None
    if name in home:
        return home.normalize(name)
    mappings = mappings_into(home)
    for other in catalog_names():
        catalog = load_strategy_catalog(other)
        if catalog.name == home.name or name not in catalog:
            continue
        canonical = catalog.normalize(name)
        mapping = mappings.get(catalog.name, {})
        if canonical in mapping:
            return home.normalize(mapping[canonical])
        raise MetricNotApplicableError(
            metric, f"the predictions use {catalog.name} strategy names (e.g. {name!r}) but the references "
                    f"are {home.name} strategies, and {home.source or home.name} has no mapping from "
                    f"{catalog.name} for {canonical!r}")
    return name.strip()
