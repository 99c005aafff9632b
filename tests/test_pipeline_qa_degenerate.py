"""QA rejects degenerate dialogues (placeholder text, repeated utterances, one- or two-word
utterances) with their own reason codes, and never the shipped seed dialogues."""
from __future__ import annotations

import json

import pytest

from escbench.harness.catalogs import load_strategy_catalog
from escbench.harness.loaders import load_dialogues
from escbench.harness.paths import TASKS_DIR
from escbench.plugins.chatpal.prompts import turn_to_extes
from escbench.plugins.chatpal.qa import REASONS, QAOptions, check_dialogue

CATALOG = load_strategy_catalog("extes")
OPTIONS = QAOptions(catalog=CATALOG, min_turns=4, max_turns=20)
SCENE = "Academic Stress"
USER_LINES = ["My finals start on Monday and I have not opened the chemistry book yet.",
              "Mostly the organic chemistry part, the reactions never stick in my head.",
              "I tried flashcards last week but I gave up after one evening.",
              "Maybe I could ask my lab partner to quiz me on Saturday."]
AI_LINES = ["That sounds like a lot of pressure with so little time left.",
            "Which part of the material worries you the most right now?",
            "It makes sense that flashcards felt slow when everything feels urgent.",
            "Studying with someone you trust sounds like a good plan for the weekend."]


def answer(users=USER_LINES, ais=AI_LINES, description="A student panics before chemistry finals.") -> str:
    content = []
    for user, ai in zip(users, ais):
        content += [{"User": user}, {"AI": ai, "AI Strategy": "Reflective Statements"}]
    return json.dumps({"Scene": SCENE, "Description": description, "Content": content})


def test_a_plain_dialogue_passes():
    assert check_dialogue(answer(), SCENE, OPTIONS).ok


def test_every_new_reason_is_documented():
    assert {"placeholder_text", "repeated_utterance", "too_few_words"} <= set(REASONS)


def test_the_measured_failure_single_letter_user_turns_is_rejected():
    # the measurement: a valid 10-turn dialogue whose every user turn was one letter
    verdict = check_dialogue(answer(users=["A", "B", "C", "D"]), SCENE, OPTIONS)
    assert (verdict.ok, verdict.reason) == (False, "placeholder_text")  # "A" is filler before anything else
    verdict = check_dialogue(answer(users=["B", "C", "D", "E"]), SCENE, OPTIONS)
    assert (verdict.ok, verdict.reason) == (False, "too_few_words")
    assert "4 of 8 utterances" in verdict.detail


def test_short_utterances_are_rejected_only_above_the_allowed_share():
    # 2 of 8 short utterances is 0.25: allowed by the default share, rejected by a stricter one
    users = ["Hi.", "Ok sure."] + USER_LINES[2:]
    assert check_dialogue(answer(users=users), SCENE, OPTIONS).ok
    stricter = QAOptions(catalog=CATALOG, min_turns=4, max_turns=20, max_short_share=0.2)
    assert check_dialogue(answer(users=users), SCENE, stricter).reason == "too_few_words"
    fewer_words = QAOptions(catalog=CATALOG, min_turns=4, max_turns=20, min_words=2)  # "Ok sure." has 2 words
    assert check_dialogue(answer(users=users[:1] + ["Yes.", "No."] + users[3:]), SCENE, fewer_words).ok is False
    assert check_dialogue(answer(users=users), SCENE, fewer_words).ok


@pytest.mark.parametrize("filler", ["...", "User", "AI", "A", "text", "[response]", "<reply>", "{text}",
                                    "Lorem ipsum dolor sit amet, consectetur adipiscing elit.", "  TEXT!  "])
def test_placeholder_utterances_are_rejected(filler):
    users = USER_LINES[:2] + [filler] + USER_LINES[3:]
    verdict = check_dialogue(answer(users=users), SCENE, OPTIONS)
    assert (verdict.ok, verdict.reason) == (False, "placeholder_text")
    assert "turn 4" in verdict.detail


def test_a_placeholder_description_is_rejected():
    verdict = check_dialogue(answer(description="[description]"), SCENE, OPTIONS)
    assert (verdict.ok, verdict.reason) == (False, "placeholder_text")


def test_an_utterance_repeated_within_a_dialogue_is_rejected_ignoring_case_and_punctuation():
    ais = AI_LINES[:3] + ["that sounds like a LOT of pressure, with so little time left!"]
    verdict = check_dialogue(answer(ais=ais), SCENE, OPTIONS)
    assert (verdict.ok, verdict.reason) == (False, "repeated_utterance")
    assert verdict.detail.startswith("turn 7 repeats turn 1")


def test_words_that_only_contain_a_placeholder_are_not_placeholders():
    users = ["A text from my sister made me cry this morning."] + USER_LINES[1:]
    assert check_dialogue(answer(users=users), SCENE, OPTIONS).ok


def test_default_thresholds_never_reject_the_shipped_seed_dialogues():
    seeds = load_dialogues(TASKS_DIR / "seed" / "seed_dialogues.json").dialogues
    assert len(seeds) >= 72
    lenient_length = QAOptions(catalog=CATALOG, min_turns=1, max_turns=1000)
    for seed in seeds:
        text = json.dumps({"Description": seed.description, "Content": [turn_to_extes(t) for t in seed.turns]})
        verdict = check_dialogue(text, None, lenient_length)
        assert verdict.ok, (seed.id, verdict.reason, verdict.detail)
