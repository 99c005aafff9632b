"""Strategy prediction accuracy and macro-F1 (beyond the paper)."""
from __future__ import annotations

import numpy as np
import pytest

from escbench.harness.errors import MetricNotApplicableError

from escbench.harness.registry import Sample
from escbench.plugins.metrics.strategy import StrategyAccuracy, macro_f1


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


# -- issue #14: the split's own catalog ------------------------------------------------------
def test_esconv_labels_are_scored_in_the_esconv_catalog():
    # Abbreviations and aliases of ESConv strategies match ESConv gold labels: 3 of 4 right.
    result = StrategyAccuracy().compute(labelled([
        ("Question", "Qu"), ("Reflection of feelings", "RF"),
        ("Affirmation and Reassurance", "Approval and Reassurance"), ("Information", "Question")]))
    assert result.scores["Strat-Acc"] == pytest.approx(75.0)


def test_extes_predictions_on_an_esconv_split_go_through_the_documented_mapping():
    # strategies-esconv.yaml maps Clarification -> Question, Emotional Validation -> Reflection
    # of feelings, Suggest Options -> Providing Suggestions; Offer Hope -> Affirmation and
    # Reassurance, which is not the gold label here.
    result = StrategyAccuracy().compute(labelled([
        ("Question", "Clarification"), ("Reflection of feelings", "Emotional Validation"),
        ("Providing Suggestions", "Suggest Options"), ("Information", "Offer Hope")]))
    assert result.scores["Strat-Acc"] == pytest.approx(75.0)


def test_the_shipped_mapping_covers_every_extes_strategy_with_esconv_names():
    import yaml

    from escbench.harness.catalogs import load_strategy_catalog
    from escbench.harness.paths import CATALOGS_DIR

    raw = yaml.safe_load((CATALOGS_DIR / "strategies-esconv.yaml").read_text())
    mapping = raw["mapped_from"]["extes"]
    assert set(mapping) == set(load_strategy_catalog("extes").names)
    assert set(mapping.values()) <= set(load_strategy_catalog("esconv").names)


def test_esconv_predictions_on_an_extes_split_are_not_applicable_with_the_reason():
    samples = labelled([("Clarification", "Restatement or Paraphrasing"), ("Affirmation", "Affirmation")])
    with pytest.raises(MetricNotApplicableError, match="esconv strategy names.*no mapping from esconv"):
        StrategyAccuracy().compute(samples)
    assert StrategyAccuracy().score(samples).columns == ()
