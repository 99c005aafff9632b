"""The cheap conversation measures, on conversations worked out by hand."""
from __future__ import annotations

import pytest

from escbench.plugins.interactive.measures import conversation_measures, distinct_n


def seeker(text: str, distress: int) -> dict:
    return {"role": "user", "text": text, "distress": distress}


def supporter(text: str, strategy: str | None = None) -> dict:
    return {"role": "ai", "text": text, "strategy": strategy}


CONVERSATION = [
    seeker("I failed my exam.", 5),
    supporter("That sounds hard.", "Empathetic Statements"),
    seeker("It is.", 4),
    supporter("That sounds hard.", "Empathetic Statements"),
    seeker("Yes.", 4),
    supporter("What could help you now?", "Clarification"),
    seeker("Maybe a walk. Thanks.", 2),
]


def test_distinct_n_counts_ngrams_within_each_reply():
    # tokens: [that sounds hard .] x2 and [what could help you now ?]: 14 unigrams, 10 distinct
    # bigrams: 3 + 3 + 5 = 11, distinct: (that sounds)(sounds hard)(hard .) + 5 = 8
    replies = ["That sounds hard.", "That sounds hard.", "What could help you now?"]
    assert distinct_n(replies, 1) == pytest.approx(100 * 10 / 14)
    assert distinct_n(replies, 2) == pytest.approx(100 * 8 / 11)
    assert distinct_n(["Ok"], 2) is None  # no bigram at all


def test_conversation_measures_by_hand():
    scores = conversation_measures(CONVERSATION)
    assert scores["Strat-div"] == pytest.approx(100 * 2 / 3)  # two strategies over three labelled replies
    assert scores["Strat-rep"] == pytest.approx(100 * 1 / 2)  # (ES, ES) repeats, (ES, Cla) does not
    assert scores["Rep"] == pytest.approx(100 * 1 / 3)  # the second "That sounds hard." repeats the first
    assert scores["Len"] == pytest.approx((3 + 3 + 5) / 3)
    assert scores["Distress-start"] == 5 and scores["Distress-end"] == 2 and scores["Distress-drop"] == 3


def test_a_system_without_strategies_has_no_strategy_measures():
    plain = [seeker("Hi.", 3), supporter("Hello."), seeker("Bye.", 3)]
    scores = conversation_measures(plain)
    assert scores["Strat-div"] is None and scores["Strat-rep"] is None
    assert scores["Distress-drop"] == 0


def test_role_cards_from_esconv_keep_emotion_and_intensity():
    from conftest import TESTS
    from escbench.harness.catalogs import load_strategy_catalog
    from escbench.harness.loaders import load_dialogues
    from escbench.plugins.interactive.cards import cards_from_dialogues

    loaded = load_dialogues(TESTS / "fixtures" / "loaders" / "clean_esconv_format.json", format="esconv",
                            catalog=load_strategy_catalog("esconv"))
    first, second = cards_from_dialogues(loaded.dialogues)
    # values as written in the fixture: the first dialogue opens with the supporter, so the
    # card's opening is the seeker's first (merged, two-part) turn
    assert (first.scene, first.emotion, first.intensity) == ("job crisis", "anxiety", 4)
    assert first.situation == "I was told my contract will not be renewed next month."
    assert first.opening == "I just found out my contract ends in a month. And rent is due right after."
    assert (second.emotion, second.intensity, second.opening) == ("sadness", None, "We broke up on Sunday.")
