"""Dialogue loaders: ExTES, ESConv and escbench JSONL, strict and lenient."""
from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pytest

from escbench.harness.catalogs import load_strategy_catalog
from escbench.harness.data import Dialogue, Turn
from escbench.harness.errors import ConfigError, DataError, UnknownStrategyError
from escbench.harness.loaders import LoadResult, Reject, load_dialogues, write_jsonl

FIXTURES = Path(__file__).parent / "fixtures" / "loaders"


def roles(dialogue: Dialogue) -> list[str]:
    return [turn.role for turn in dialogue.turns]


def supporter_strategies(dialogue: Dialogue) -> list[str | None]:
    return [turn.strategy for turn in dialogue.turns if turn.role == "ai"]


def write_json(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


# --- ExTES -------------------------------------------------------------------------------

def test_extes_ids_come_from_file_stem_and_index():
    result = load_dialogues(FIXTURES / "clean_extes_format.json")
    assert [d.id for d in result.dialogues] == ["clean_extes_format-00000", "clean_extes_format-00001"]
    assert result.rejects == []


def test_extes_roles_scene_and_description():
    first = load_dialogues(FIXTURES / "clean_extes_format.json").dialogues[0]
    assert roles(first) == ["ai", "user"] * 4 + ["ai"]
    assert first.scene == "Academic Stress"
    assert first.description.startswith("A second-year student")
    assert first.turns[1].text.startswith("My lab report is due Friday")


def test_extes_strategy_spellings_are_normalised_and_greetings_have_none():
    first, second = load_dialogues(FIXTURES / "clean_extes_format.json").dialogues
    assert supporter_strategies(first) == [
        None, "Reflective Statements", "Emotional Validation", "Affirmation", "Collaborative Planning"]
    # "emotional validation", "Avoid Judgement & Criticism", and a blank label.
    assert supporter_strategies(second) == [
        "Emotional Validation", "Avoid Judgment and Criticism", None]
    assert all(turn.strategy is None for turn in first.turns if turn.role == "user")


def test_extes_messy_keys_whitespace_and_explicit_id():
    (dialogue,) = load_dialogues(FIXTURES / "messy_extes_format.json").dialogues
    assert dialogue.id == "seed-007"
    assert dialogue.scene == "Work Stress"
    assert dialogue.description == "The user's manager keeps adding tasks late on Fridays."
    assert dialogue.meta == {"source": "hand-written"}
    assert roles(dialogue) == ["ai", "user", "ai", "user", "ai", "user", "ai"]
    assert dialogue.turns[0].text == "Hello! How has your week been?"
    assert dialogue.turns[1].text == "Long. My manager dropped three new tasks on me at 5pm again."
    assert supporter_strategies(dialogue) == [None, "Empathetic Statements", "Suggest Options", None]


def test_extes_explicit_format_gives_the_same_dialogues_as_auto():
    auto = load_dialogues(FIXTURES / "clean_extes_format.json")
    explicit = load_dialogues(FIXTURES / "clean_extes_format.json", format="extes")
    assert explicit.dialogues == auto.dialogues


EXTES_PROBLEMS = {
    1: ("", "expected a dialogue as a JSON object, got a string"),
    2: ("", "missing required field 'content'"),
    3: ("", "field 'content' must be a list, got a string"),
    4: ("turn 1", "empty text in field 'AI'"),
    5: ("turn 1", "unknown role 'Therapist'"),
    6: ("turn 5", "unknown strategy 'Empathy Bomb' (catalog 'extes' knows: Reflective Statements,"),
    7: ("", "dialogue has no supporter turn"),
    8: ("", "dialogue has no user turn"),
}


@pytest.mark.parametrize("index", sorted(EXTES_PROBLEMS))
def test_extes_strict_raises_at_the_bad_dialogue_naming_file_index_id_turn(tmp_path, index):
    records = json.loads((FIXTURES / "broken_extes_format.json").read_text(encoding="utf-8"))
    # Good dialogues before the bad one keep its position (and so its id) unchanged.
    path = write_json(tmp_path / "broken_extes_format.json", [records[0]] * index + [records[index]])
    turn, problem = EXTES_PROBLEMS[index]
    with pytest.raises(DataError) as caught:
        load_dialogues(path)
    where = f"dialogue {index} (id 'broken_extes_format-{index:05d}')" + (f", {turn}" if turn else "")
    assert str(caught.value).startswith(f"{path}, {where}: {problem}")


def test_extes_unknown_strategy_is_an_unknown_strategy_error(tmp_path):
    records = json.loads((FIXTURES / "broken_extes_format.json").read_text(encoding="utf-8"))
    path = write_json(tmp_path / "x.json", [records[6]])
    with pytest.raises(UnknownStrategyError, match="turn 5: unknown strategy 'Empathy Bomb'"):
        load_dialogues(path)


def test_extes_lenient_keeps_good_dialogues_and_returns_rejects_with_raw_records():
    path = FIXTURES / "broken_extes_format.json"
    result = load_dialogues(path, lenient=True)
    assert [d.id for d in result.dialogues] == ["broken_extes_format-00000", "broken_extes_format-00009"]
    assert [reject.index for reject in result.rejects] == sorted(EXTES_PROBLEMS)
    raw = json.loads(path.read_text(encoding="utf-8"))
    for reject in result.rejects:
        turn, problem = EXTES_PROBLEMS[reject.index]
        assert reject.dialogue_id == f"broken_extes_format-{reject.index:05d}"
        assert reject.reason.startswith(f"{path}, dialogue {reject.index} ")
        assert problem in reject.reason and turn in reject.reason
        assert reject.record == raw[reject.index]


def test_lenient_reason_is_the_strict_message(tmp_path):
    lenient = load_dialogues(FIXTURES / "broken_extes_format.json", lenient=True).rejects[0]
    copy = shutil.copy(FIXTURES / "broken_extes_format.json", tmp_path / "broken_extes_format.json")
    with pytest.raises(DataError) as caught:
        load_dialogues(copy)
    assert str(caught.value) == lenient.reason.replace(str(FIXTURES), str(tmp_path))


def test_extes_strategy_on_a_user_turn_is_an_error(tmp_path):
    path = write_json(tmp_path / "u.json", [{"scene": "S", "content": [
        {"User": "Hi.", "AI Strategy": "Question"}, {"AI": "Hello."}]}])
    with pytest.raises(DataError, match=r"dialogue 0 \(id 'u-00000'\), turn 0: strategy 'Question' on a user turn"):
        load_dialogues(path)


def test_extes_duplicate_explicit_ids_are_rejected(tmp_path):
    dialogue = {"id": "same", "content": [{"User": "Hi."}, {"AI": "Hello."}]}
    path = write_json(tmp_path / "dup.json", [dialogue, dialogue])
    result = load_dialogues(path, lenient=True)
    assert [d.id for d in result.dialogues] == ["same"]
    assert result.rejects[0].index == 1
    assert "duplicate id 'same' (first used by dialogue 0)" in result.rejects[0].reason


def test_catalog_argument_replaces_the_default(tmp_path):
    path = write_json(tmp_path / "q.json", [{"content": [
        {"User": "Hi."}, {"AI": "What happened?", "AI Strategy": "Qu"}]}])
    with pytest.raises(UnknownStrategyError, match="catalog 'extes'"):
        load_dialogues(path)
    loaded = load_dialogues(path, catalog=load_strategy_catalog("esconv"))
    assert loaded.dialogues[0].turns[1].strategy == "Question"


# --- ESConv ------------------------------------------------------------------------------

def test_esconv_fields_map_to_dialogue_and_meta():
    first = load_dialogues(FIXTURES / "clean_esconv_format.json").dialogues[0]
    assert first.id == "clean_esconv_format-00000"
    assert first.scene == "job crisis"
    assert first.description == "I was told my contract will not be renewed next month."
    assert first.meta == {
        "experience_type": "Current Experience", "emotion_type": "anxiety",
        "problem_type": "job crisis",
        "survey_score": {"seeker": {"initial_emotion_intensity": "4", "final_emotion_intensity": "2"}},
        "merged_turns": 2,
    }


def test_esconv_merges_consecutive_turns_of_the_same_party():
    first = load_dialogues(FIXTURES / "clean_esconv_format.json").dialogues[0]
    assert roles(first) == ["ai", "user", "ai", "user", "ai"]
    assert first.turns[1].text == ("I just found out my contract ends in a month. "
                                   "And rent is due right after.")
    assert first.turns[2] == Turn(
        "ai", "So the job is ending and the rent comes straight after it. "
              "Have you been able to look at other openings yet?", "Restatement or Paraphrasing")


def test_esconv_merged_turn_takes_the_first_labelled_strategy():
    second = load_dialogues(FIXTURES / "clean_esconv_format.json").dialogues[1]
    assert second.turns[1] == Turn("ai", "I'm sorry to hear that. You sound heartbroken.",
                                   "Reflection of feelings")
    assert second.meta["merged_turns"] == 1


def test_esconv_speaker_variants_map_to_user_and_ai():
    second = load_dialogues(FIXTURES / "clean_esconv_format.json").dialogues[1]
    # usr, SYS+sys, Help-Seeker, Bot, client, Helper
    assert roles(second) == ["user", "ai", "user", "ai", "user", "ai"]
    assert supporter_strategies(second) == [
        "Reflection of feelings", "Self-disclosure", "Affirmation and Reassurance"]


def test_esconv_trailing_newlines_are_stripped():
    dialogues = load_dialogues(FIXTURES / "clean_esconv_format.json").dialogues
    texts = [turn.text for dialogue in dialogues for turn in dialogue.turns]
    assert texts[-1] == ("It did, slowly, and you are already doing the right thing by "
                         "talking about it.")
    assert all(text == text.strip() for text in texts)
    assert dialogues[0].turns[-1].text == "Maybe start with one application tonight, just one."


ESCONV_PROBLEMS = {
    1: ("turn 1", "unknown speaker 'moderator'"),
    2: ("turn 1", "unknown strategy 'Mind Reading' (catalog 'esconv' knows: Question,"),
    3: ("turn 0", "empty text in field 'content'"),
    4: ("", "missing required field 'dialog'"),
    5: ("turn 1", "field 'annotation' must be an object, got a string"),
    6: ("", "dialogue has no supporter turn"),
    7: ("turn 0", "field 'speaker' must be a string, got a number"),
}


@pytest.mark.parametrize("index", sorted(ESCONV_PROBLEMS))
def test_esconv_strict_raises_at_the_bad_dialogue_naming_file_index_id_turn(tmp_path, index):
    records = json.loads((FIXTURES / "broken_esconv_format.json").read_text(encoding="utf-8"))
    path = write_json(tmp_path / "broken_esconv_format.json", [records[0]] * index + [records[index]])
    turn, problem = ESCONV_PROBLEMS[index]
    with pytest.raises(DataError) as caught:
        load_dialogues(path, format="esconv")
    where = f"dialogue {index} (id 'broken_esconv_format-{index:05d}')" + (f", {turn}" if turn else "")
    assert str(caught.value).startswith(f"{path}, {where}: {problem}")


def test_esconv_lenient_keeps_good_dialogues_and_returns_rejects():
    result = load_dialogues(FIXTURES / "broken_esconv_format.json", lenient=True)
    assert [d.id for d in result.dialogues] == ["broken_esconv_format-00000"]
    assert result.dialogues[0].turns[1].strategy == "Question"
    assert [reject.index for reject in result.rejects] == sorted(ESCONV_PROBLEMS)
    for reject in result.rejects:
        assert ESCONV_PROBLEMS[reject.index][1] in reject.reason
    assert result.rejects[3].record == {"problem_type": "ongoing depression",
                                        "situation": "No dialog field."}


# --- escbench JSONL ----------------------------------------------------------------------

def test_jsonl_reads_schema_and_ignores_blank_lines():
    result = load_dialogues(FIXTURES / "dialogues.jsonl")
    first, second = result.dialogues
    assert (first.id, first.scene, first.description) == (
        "jl-1", "Financial Stress", "Unexpected car repair bill.")
    assert first.meta == {"source": "fixture"}
    assert supporter_strategies(first) == ["Empathetic Statements", "Share Information"]
    assert (second.id, second.scene, second.description, second.meta) == ("jl-2", None, "", {})
    assert supporter_strategies(second) == [None, "Normalize Experiences"]


def test_jsonl_torn_last_line_without_newline_is_skipped_with_a_warning():
    with pytest.warns(UserWarning, match=r"torn\.jsonl, line 4: skipped a truncated last line"):
        torn = load_dialogues(FIXTURES / "torn.jsonl")
    assert torn.dialogues == load_dialogues(FIXTURES / "dialogues.jsonl").dialogues


def test_jsonl_broken_last_line_ending_in_newline_is_an_error():
    with pytest.raises(DataError, match=r"broken_last_line_with_newline\.jsonl, line 4, column \d+: "
                                        r"not valid JSON"):
        load_dialogues(FIXTURES / "broken_last_line_with_newline.jsonl")


def test_jsonl_bad_middle_line_is_an_error_even_when_lenient():
    for lenient in (False, True):
        with pytest.raises(DataError, match=r"bad_middle_line\.jsonl, line 2, column 60: not valid JSON"):
            load_dialogues(FIXTURES / "bad_middle_line.jsonl", lenient=lenient)


def test_jsonl_strict_names_line_dialogue_and_turn():
    with pytest.raises(DataError) as caught:
        load_dialogues(FIXTURES / "jsonl_broken.jsonl")
    assert str(caught.value) == (
        f"{FIXTURES / 'jsonl_broken.jsonl'}, line 2, dialogue 1 (id 'bad-role'), turn 0: "
        "unknown role 'seeker' (expected 'user' or 'ai')")


def test_jsonl_lenient_rejects_invalid_dialogues_by_line():
    result = load_dialogues(FIXTURES / "jsonl_broken.jsonl", lenient=True)
    assert [d.id for d in result.dialogues] == ["ok-1", "ok-2"]
    assert result.dialogues[1].turns[1].strategy == "Others"
    summary = [(r.index, r.dialogue_id) for r in result.rejects]
    assert summary == [(1, "bad-role"), (2, "ok-1"), (3, "bad-turns"), (4, None), (5, "bad-strategy")]
    reasons = [r.reason.split(": ", 1)[0].split(", ", 1)[1] for r in result.rejects]
    assert reasons == ["line 2, dialogue 1 (id 'bad-role'), turn 0",
                       "line 3, dialogue 2 (id 'ok-1')", "line 4, dialogue 3 (id 'bad-turns')",
                       "line 5, dialogue 4", "line 7, dialogue 5 (id 'bad-strategy'), turn 1"]
    assert "duplicate id 'ok-1'" in result.rejects[1].reason
    assert result.rejects[3].record == [1, 2, 3]


# --- writing and round trip --------------------------------------------------------------

@pytest.mark.parametrize("fixture, catalog", [
    ("clean_extes_format.json", "extes"), ("messy_extes_format.json", "extes"), ("clean_esconv_format.json", "esconv"),
    ("dialogues.jsonl", "extes")])
def test_write_jsonl_then_load_gives_equal_dialogues(tmp_path, fixture, catalog):
    original = load_dialogues(FIXTURES / fixture).dialogues
    target = write_jsonl(original, tmp_path / "out" / "round.jsonl")
    again = load_dialogues(target, catalog=load_strategy_catalog(catalog)).dialogues
    assert again == original
    assert [d.meta for d in again] == [d.meta for d in original]


def test_write_jsonl_keeps_unicode_line_separators_inside_texts(tmp_path):
    dialogue = Dialogue("u-1", (Turn("user", "Ça va\u2028pas très bien 😞"),
                                Turn("ai", "Je t'écoute.", "Empathetic Statements")),
                        scene="Loneliness", description="d", meta={"note": "x\u2029y"})
    target = write_jsonl([dialogue], tmp_path / "u.jsonl")
    text = target.read_text(encoding="utf-8")
    assert text.endswith("\n") and text.count("\n") == 1
    (loaded,) = load_dialogues(target).dialogues
    assert loaded == dialogue and loaded.meta == {"note": "x\u2029y"}


def test_write_jsonl_writes_every_schema_field(tmp_path):
    dialogue = Dialogue("w-1", (Turn("user", "Hi."), Turn("ai", "Hello.")))
    target = write_jsonl([dialogue], tmp_path / "w.jsonl")
    assert json.loads(target.read_text(encoding="utf-8")) == {
        "id": "w-1", "scene": None, "description": "",
        "turns": [{"role": "user", "text": "Hi.", "strategy": None},
                  {"role": "ai", "text": "Hello.", "strategy": None}],
        "meta": {}}


def test_write_jsonl_failure_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "keep.jsonl"
    target.write_text("old contents\n", encoding="utf-8")
    unserialisable = Dialogue("bad", (Turn("user", "a"), Turn("ai", "b")), meta={"s": {1, 2}})
    with pytest.raises(TypeError):
        write_jsonl([unserialisable], target)
    assert target.read_text(encoding="utf-8") == "old contents\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.jsonl"]


# --- whole-file problems -----------------------------------------------------------------

def test_malformed_json_names_line_and_column_even_when_lenient():
    for lenient in (False, True):
        with pytest.raises(DataError) as caught:
            load_dialogues(FIXTURES / "malformed.json", lenient=lenient)
        assert str(caught.value) == (f"{FIXTURES / 'malformed.json'}, line 3, column 31: "
                                     "malformed JSON: Expecting ',' delimiter")


def test_json_lines_in_a_json_file_get_a_hint(tmp_path):
    path = tmp_path / "lines.json"
    shutil.copy(FIXTURES / "dialogues.jsonl", path)
    with pytest.raises(DataError, match="line 3, column 1: malformed JSON: Extra data .*format='jsonl'"):
        load_dialogues(path)


def test_missing_file_is_a_data_error_naming_the_path(tmp_path):
    missing = tmp_path / "nowhere.json"
    with pytest.raises(DataError) as caught:
        load_dialogues(missing)
    assert str(caught.value) == f"{missing}: file not found"


def test_auto_format_rejects_an_unrecognised_list():
    with pytest.raises(DataError, match=r"unknown_shape\.json: cannot tell the dialogue format"):
        load_dialogues(FIXTURES / "unknown_shape.json")


def test_explicit_format_rejects_a_top_level_object(tmp_path):
    path = write_json(tmp_path / "obj.json", {"dialogues": []})
    with pytest.raises(DataError, match=r"obj\.json: expected a JSON list of ESConv dialogues, got an object"):
        load_dialogues(path, format="esconv")


def test_unknown_format_name_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown dialogue format 'csv'"):
        load_dialogues(FIXTURES / "clean_extes_format.json", format="csv")


def test_result_types_hold_what_the_runner_needs():
    result = load_dialogues(FIXTURES / "broken_esconv_format.json", lenient=True)
    assert isinstance(result, LoadResult)
    assert all(isinstance(reject, Reject) for reject in result.rejects)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clean file raises no warning
        assert len(load_dialogues(FIXTURES / "dialogues.jsonl").dialogues) == 2


# -- issue #14: the ESConv release's own names, and its Hugging Face layout -------------------
def test_esconv_release_speaker_and_listener_and_older_strategy_names_load():
    loaded = load_dialogues(FIXTURES / "speaker_listener_esconv_format.json")
    assert loaded.rejects == [] and len(loaded.dialogues) == 2
    first = loaded.dialogues[0]
    assert [t.role for t in first.turns] == ["ai", "user", "ai", "user", "ai", "user"]
    assert first.turns[4].strategy == "Affirmation and Reassurance"  # written "Approval and Reassurance"
    assert first.turns[4].text.endswith("persistence. Could a former colleague point you to openings?")
    assert first.meta["problem_type"] == "job crisis" and first.meta["merged_turns"] == 1
    assert loaded.dialogues[1].turns[-1].strategy == "Self-disclosure"


def test_esconv_hugging_face_layout_loads_the_same_dialogues():
    release = load_dialogues(FIXTURES / "speaker_listener_esconv_format.json").dialogues
    hf = load_dialogues(FIXTURES / "text_field_rows.jsonl")  # detected from its rows
    assert [(t.role, t.text, t.strategy) for d in hf.dialogues for t in d.turns] == \
        [(t.role, t.text, t.strategy) for d in release for t in d.turns]
    assert [d.id for d in hf.dialogues] == ["text_field_rows-00000", "text_field_rows-00001"]
    assert load_dialogues(FIXTURES / "text_field_rows.jsonl", format="esconv-hf").dialogues[0].scene == "job crisis"


def test_esconv_hugging_face_row_without_a_dialogue_names_the_line(tmp_path):
    lines = (FIXTURES / "text_field_rows.jsonl").read_text().splitlines()
    path = tmp_path / "test.jsonl"
    path.write_text(lines[0] + "\n\n" + json.dumps({"text": "{not json"}) + "\n")
    with pytest.raises(DataError, match=r"test.jsonl, line 3, dialogue 1 .*field 'text' does not hold a JSON dialogue"):
        load_dialogues(path, format="esconv-hf")
