"""QA of teacher answers: tolerant JSON extraction, reason codes, duplicate detection, DRI lists."""
from __future__ import annotations

import json

import pytest

from escbench.harness.catalogs import load_strategy_catalog
from escbench.plugins.chatpal.dedup import DuplicateIndex, choose_bands, jaccard, shingles
from escbench.plugins.chatpal.dri import parse_replies
from escbench.plugins.chatpal.extract import NoJSONFound, extract_json
from escbench.plugins.chatpal.qa import QAOptions, check_dialogue

CATALOG = load_strategy_catalog("extes")
OPTIONS = QAOptions(catalog=CATALOG, min_turns=4, max_turns=10)
SCENE = "Academic Stress"


def dialogue(turns: int = 6, scene: str = SCENE, **changes) -> dict:
    content = []
    for index in range(turns):
        if index % 2 == 0:
            content.append({"User": f"My exams start in {index + 2} days and I cannot focus on revision at all."})
        else:
            content.append({"AI": f"That sounds exhausting; which subject worries you most right now? ({index})",
                            "AI Strategy": "Clarification"})
    return {"Scene": scene, "Description": "A student panics before finals.", "Content": content, **changes}


def test_extract_reads_json_inside_prose_and_code_fences():
    text = "Sure, here it is!\n```json\n" + json.dumps(dialogue()) + "\n```\nHope it helps."
    assert extract_json(text)["Scene"] == SCENE


def test_extract_reads_python_dict_syntax_and_trailing_commas():
    assert extract_json("{'User': 'I can\\'t sleep', 'n': None,}") == {"User": "I can't sleep", "n": None}
    assert extract_json('{"a": [1, 2,],}') == {"a": [1, 2]}


def test_extract_skips_bracketed_prose_before_the_json():
    assert extract_json('Note [draft] first: {"ok": true}') == {"ok": True}


def test_extract_reports_an_unclosed_json_as_unbalanced():
    with pytest.raises(NoJSONFound) as caught:
        extract_json('{"Scene": "x", "Content": [{"User": "a"}, {"AI": "b')
    assert caught.value.unbalanced


def test_valid_dialogue_is_accepted_with_canonical_strategies():
    answer = dialogue()
    answer["Content"][1]["AI Strategy"] = "3. clarification (Cla)"
    verdict = check_dialogue(json.dumps(answer), SCENE, OPTIONS)
    assert verdict.ok
    assert verdict.dialogue["scene"] == SCENE
    assert verdict.dialogue["content"][1]["AI Strategy"] == "Clarification"
    assert len(verdict.dialogue["content"]) == 6


@pytest.mark.parametrize("mutate, reason", [
    (lambda d: d["Content"][1].update({"Therapist": d["Content"][1].pop("AI")}), "wrong_roles"),
    (lambda d: d["Content"].insert(1, {"User": "And another thing."}), "no_alternation"),
    (lambda d: d["Content"][1].pop("AI Strategy"), "missing_strategy"),
    (lambda d: d["Content"][3].update({"AI Strategy": "Hypnosis"}), "unknown_strategy"),
    (lambda d: d.update({"Scene": "Caregiver Support"}), "wrong_scene"),
    (lambda d: d.update({"Description": "  "}), "missing_description"),
    (lambda d: d.update({"Content": d["Content"][:2]}), "too_short"),
    (lambda d: d.update({"Content": d["Content"] * 3}), "too_long"),
    (lambda d: d.update({"Content": "User: hi"}), "bad_format"),
])
def test_each_defect_is_rejected_with_its_reason(mutate, reason):
    answer = dialogue()
    mutate(answer)
    verdict = check_dialogue(json.dumps(answer), SCENE, OPTIONS)
    assert (verdict.ok, verdict.reason) == (False, reason)
    assert verdict.detail


def test_unparseable_and_truncated_answers_have_distinct_reasons():
    assert check_dialogue("I am sorry, I cannot help with that.", SCENE, OPTIONS).reason == "unparseable"
    half = json.dumps(dialogue())[:200]
    assert check_dialogue(half, SCENE, OPTIONS).reason == "truncated"


def test_without_a_catalog_strategies_are_dropped_not_checked():
    answer = dialogue()
    answer["Content"][1]["AI Strategy"] = "Hypnosis"
    verdict = check_dialogue(json.dumps(answer), None, QAOptions(catalog=None, min_turns=4))
    assert verdict.ok
    assert verdict.dialogue["content"][1] == {"AI": answer["Content"][1]["AI"]}


def test_a_bare_list_of_turns_is_a_dialogue_when_no_description_is_required():
    verdict = check_dialogue(json.dumps(dialogue()["Content"]), SCENE,
                             QAOptions(catalog=CATALOG, min_turns=4, require_description=False))
    assert verdict.ok and verdict.dialogue["description"] == ""


def test_duplicate_index_finds_exact_and_near_duplicates_but_not_unrelated_texts():
    base = " ".join(f"word{i}" for i in range(60))
    index = DuplicateIndex(threshold=0.8)
    index.add("a", base)
    exact = index.check(base.upper().replace(" ", "  "))
    assert (exact.kind, exact.other, exact.similarity) == ("exact", "a", 1.0)
    near = index.check(base.replace("word30", "changed"))
    assert near.kind == "near" and near.other == "a"
    assert near.similarity == pytest.approx(jaccard(shingles(base, 5), shingles(base.replace("word30", "changed"), 5)))
    assert 0.8 <= near.similarity < 1
    assert index.check(" ".join(f"other{i}" for i in range(60))) is None


def test_near_duplicate_threshold_is_respected():
    base = " ".join(f"w{i}" for i in range(40))
    edited = base.replace("w10", "x").replace("w25", "y")  # 10 of 40 shingles change
    similarity = jaccard(shingles(base, 5), shingles(edited, 5))
    strict, loose = DuplicateIndex(threshold=similarity + 0.01), DuplicateIndex(threshold=similarity - 0.01)
    for index in (strict, loose):
        index.add("base", base)
    assert strict.check(edited) is None
    assert loose.check(edited).kind == "near"


def test_lsh_bands_put_the_threshold_within_reach():
    bands, rows = choose_bands(128, 0.8)
    assert bands * rows == 128
    assert (1 / bands) ** (1 / rows) <= 0.64


def test_dri_parses_a_numbered_list_and_drops_repeats_and_the_original():
    original = "It sounds like the fight is still weighing on you."
    answer = ("Here are four options:\n1. It sounds like the fight is still weighing on you.\n"
              "2.What do you miss most about her?\n   Take your time.\n"
              "3) You deserve care while this heals.\n4. What do you miss most about her? Take your time.\n"
              "5. Reaching out to a friend tonight could help.")
    parsed = parse_replies(answer, original, 4, None)
    assert [text for text, _ in parsed.replies] == [
        "What do you miss most about her? Take your time.",
        "You deserve care while this heals.",
        "Reaching out to a friend tonight could help."]
    assert parsed.dropped == {"same_as_original": 1, "repeat": 1}


def test_dri_reads_json_and_strategy_labels():
    answer = json.dumps([{"response": "That must hurt.", "strategy": "empathy"},
                         {"response": "Could you tell me more?", "strategy": "Mind reading"}])
    parsed = parse_replies(answer, "original", 4, CATALOG)
    assert parsed.replies == [("That must hurt.", "Empathetic Statements"), ("Could you tell me more?", None)]
    assert parsed.unknown_labels == 1
    labelled = parse_replies("1. [Offer Hope] Things can get better.\n2. [EV] Your anger makes sense.", "x", 2, CATALOG)
    assert labelled.replies == [("Things can get better.", "Offer Hope"), ("Your anger makes sense.", "Emotional Validation")]


def test_dri_keeps_at_most_k_replies():
    answer = "\n".join(f"{i}. Distinct reply number {i} about topic {i * 7}." for i in range(1, 7))
    assert len(parse_replies(answer, "x", 3, None).replies) == 3
