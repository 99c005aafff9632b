"""Strategy prediction accuracy and macro-F1 (beyond the paper)."""
from __future__ import annotations

import numpy as np
import pytest

from harness.errors import MetricNotApplicableError

from harness.registry import Sample
from plugins.metrics.strategy import StrategyAccuracy, macro_f1


def labelled(pairs):
    return [Sample(str(i), "reply", "reference", strategy=ref, predicted_strategy=pred)
            for i, (ref, pred) in enumerate(pairs)]


def test_hand_worked_accuracy_and_macro_f1():
    # refs A A B C, predictions A B B -: accuracy 2/4; F1 A = 2/3, B = 2/3, C = 0.
    assert macro_f1(["A", "A", "B", "C"], ["A", "B", "B", None]) == pytest.approx(4 / 9)
    result = StrategyAccuracy().compute(labelled([
        ("Reflective Statements", "Reflective Statements"), ("Reflective Statements", "Clarification"),
        ("Clarification", "Clarification"), ("Emotional Validation", None)]))
    assert result.scores == pytest.approx({"Strat-Acc": 50.0, "Strat-F1": 400 / 9})
    assert result.per_sample["Strat-Acc"] == [100.0, 0.0, 100.0, 0.0]


def test_predictions_are_matched_through_the_catalog():
    result = StrategyAccuracy().compute(labelled([("Reflective Statements", "rs"),
                                                  ("Clarification", " CLARIFICATION ")]))
    assert result.scores["Strat-Acc"] == 100.0


def test_unknown_predicted_names_count_as_wrong_labels():
    result = StrategyAccuracy().compute(labelled([("Clarification", "Mind reading"),
                                                  ("Clarification", "Clarification")]))
    # Labels: Clarification (F1 2/3) and "Mind reading" (F1 0).
    assert result.scores == pytest.approx({"Strat-Acc": 50.0, "Strat-F1": 100 / 3})


def test_samples_without_reference_strategy_are_left_out():
    samples = labelled([("Clarification", "Clarification")]) + [Sample("x", "reply", "ref")]
    result = StrategyAccuracy().compute(samples)
    assert result.scores["Strat-Acc"] == 100.0 and result.per_sample["Strat-Acc"] == [100.0, None]
    scores = StrategyAccuracy().score(samples)
    assert scores.corpus(np.array([1, 1, 0]))["Strat-F1"] == 100.0


@pytest.mark.parametrize("samples, reason", [
    ([Sample("a", "reply", "ref")], "no sample has a reference strategy"),
    ([Sample("a", "reply", "ref", strategy="Clarification")], "the system predicted no strategy"),
])
def test_does_not_apply_without_reference_or_predicted_strategies(samples, reason):
    with pytest.raises(MetricNotApplicableError, match=reason):
        StrategyAccuracy().compute(samples)
    assert StrategyAccuracy().score(samples).corpus() == {}
