"""Teacher requests carry the JSON schema of the expected answer (structured outputs), built from
the task; ``--no-structured`` leaves it out; a server that rejects it gets a clear error."""
from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from escbench.harness.cli import main
from escbench.harness.paths import TASKS_DIR
from scripted_openai import Reply, ScriptedServer, completion

SCENE = "Academic Stress"
# The strategy names straight from the catalog file (not through our catalog code).
EXTES_NAMES = [s["name"] for s in yaml.safe_load((TASKS_DIR / "catalogs" / "strategies-extes.yaml").read_text())["strategies"]]
USERS = ["My exams start on Monday and I have not opened the chemistry book yet.",
         "Mostly the organic part, the reactions never stick in my head at all.",
         "I tried flashcards last week but gave up after a single evening."]
AIS = ["That sounds like a lot of pressure with so little time left before Monday.",
       "Which of those reactions would you like to look at together first?",
       "Giving up after one evening is understandable when everything feels urgent."]


def dialogue_answer() -> dict:
    content = []
    for user, ai in zip(USERS, AIS):
        content += [{"User": user}, {"AI": ai, "AI Strategy": "Reflective Statements"}]
    return {"Scene": SCENE, "Description": "A student panics a few days before finals.", "Content": content}


def answering(content: str):
    return lambda number, body: Reply(payload=completion(body, content))


def expand(server: ScriptedServer, out, *extra: str) -> int:
    return main(["expand", "--teacher-url", server.url, "--teacher", "m", "--out", str(out), "--scenes", SCENE,
                 "--per-scene", "1", "--distribution", "uniform", "--concurrency", "1", "--max-retries", "0",
                 "--min-turns", "6", "--max-turns", "12", *extra])


def test_expansion_requests_carry_a_strict_dialogue_schema_built_from_the_task(tmp_path):
    with ScriptedServer(answering(json.dumps(dialogue_answer()))) as server:
        assert expand(server, tmp_path / "out") == 0
    [body] = server.bodies
    response_format = body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["strict"] is True
    assert response_format["json_schema"]["name"]
    schema = response_format["json_schema"]["schema"]
    assert schema["properties"]["Scene"]["enum"] == [SCENE]
    content = schema["properties"]["Content"]
    assert (content["minItems"], content["maxItems"]) == (6, 12)
    user, ai = content["items"]["anyOf"]
    assert list(user["properties"]) == ["User"] and list(ai["properties"]) == ["AI", "AI Strategy"]
    assert ai["properties"]["AI Strategy"]["enum"] == EXTES_NAMES
    # the schema accepts the well-formed answer (checked by a reference validator) ...
    jsonschema.validate(dialogue_answer(), schema)
    # ... and refuses an unknown strategy, a stray speaker key, a wrong scene and too few turns
    for broken in (lambda d: d["Content"][1].update({"AI Strategy": "Hypnosis"}),
                   lambda d: d["Content"][0].update({"Therapist": "hello"}),
                   lambda d: d.update({"Scene": "Caregiver Support"}),
                   lambda d: d.update({"Content": d["Content"][:4]})):
        answer = dialogue_answer()
        broken(answer)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(answer, schema)
    accepted = json.loads((tmp_path / "out" / "dialogues.json").read_text())
    assert len(accepted) == 1


def test_no_structured_sends_the_prompt_only(tmp_path):
    with ScriptedServer(answering(json.dumps(dialogue_answer()))) as server:
        assert expand(server, tmp_path / "out", "--no-structured") == 0
    [body] = server.bodies
    assert "response_format" not in body
    assert "Academic Stress" in body["messages"][-1]["content"]


def test_a_server_rejecting_response_format_stops_the_run_and_names_the_switch(tmp_path, capsys):
    def refuse(number, body):
        return Reply(status=400, payload={"error": {"message": "response_format json_schema is not supported",
                                                    "type": "invalid_request_error", "param": "response_format"}})

    with ScriptedServer(refuse) as server:
        assert expand(server, tmp_path / "out") == 2
    error = capsys.readouterr().err
    assert "--no-structured" in error and "response_format" in error
    assert server.requests == 1  # stopped at once, not one failure per request


def test_dri_requests_ask_for_exactly_k_labelled_replies(tmp_path):
    data = tmp_path / "data.json"
    content = []
    for user, ai in zip(USERS, AIS):
        content += [{"User": user}, {"AI": ai, "AI Strategy": "Affirmation"}]
    data.write_text(json.dumps([{"id": "d1", "scene": SCENE, "description": "x", "content": content}]))
    answer = {"replies": [{"strategy": "Affirmation", "response": "You are doing more than you think."},
                          {"strategy": "Clarification", "response": "Which reaction confuses you most?"},
                          {"strategy": "Emotional Validation", "response": "Feeling stuck before exams is normal."}]}
    with ScriptedServer(answering(json.dumps(answer))) as server:
        assert main(["dri", "--data", str(data), "--k", "3", "--label-strategies", "--limit", "1",
                     "--teacher-url", server.url, "--teacher", "m", "--out", str(tmp_path / "dri"),
                     "--concurrency", "1", "--max-retries", "0"]) == 0
    assert len(server.bodies) == 3  # one request per supporter turn
    schema = server.bodies[0]["response_format"]["json_schema"]["schema"]
    replies = schema["properties"]["replies"]
    assert (replies["minItems"], replies["maxItems"]) == (3, 3)
    assert replies["items"]["properties"]["strategy"]["enum"] == EXTES_NAMES
    jsonschema.validate(answer, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"replies": answer["replies"][:2]}, schema)
    record = json.loads((tmp_path / "dri" / "dri.jsonl").read_text().splitlines()[0])
    assert [a["strategy"] for a in record["alternatives"]] == ["Affirmation", "Clarification", "Emotional Validation"]


def test_augesc_requests_ask_for_unlabelled_dialogues_without_a_scene(tmp_path):
    posts = tmp_path / "posts.txt"
    posts.write_text("My exams start on Monday and I have not studied.\n")
    answer = {"Description": "A student panics.", "Content": [{"User": u} if i % 2 == 0 else {"AI": u}
                                                              for i, u in enumerate(USERS + AIS)]}
    with ScriptedServer(answering(json.dumps(answer))) as server:
        main(["augment", "--posts", str(posts), "--teacher-url", server.url, "--teacher", "m",
              "--out", str(tmp_path / "aug"), "--concurrency", "1", "--max-retries", "0", "--min-turns", "4"])
    schema = server.bodies[0]["response_format"]["json_schema"]["schema"]
    assert list(schema["properties"]) == ["Description", "Content"]
    user, ai = schema["properties"]["Content"]["items"]["anyOf"]
    assert list(ai["properties"]) == ["AI"]
    assert schema["properties"]["Content"]["minItems"] == 4
    jsonschema.validate(answer, schema)


def test_the_ask_expert_expert_step_asks_for_its_four_answers_as_json():
    from escbench.harness.data import Example, Turn
    from escbench.harness.registry import GenerationSettings
    from escbench.plugins.systems.ask_expert import AskExpertSystem

    example = Example(dialogue_id="d1", turn_index=1, reference="r", scene=SCENE, description="",
                      context=(Turn("user", "I failed my exam after studying every night."),))
    advice = {"Feeling": "crushed", "Cause": "effort without reward", "Strategy": "Emotional Validation",
              "Advice": "say the pain makes sense"}

    def script(number, body):
        expert = "response_format" in body or "four lines" in body["messages"][-1]["content"]
        return Reply(content=json.dumps(advice) if expert else "Of course it hurts after all that work.")

    for structured in (True, False):
        with ScriptedServer(script) as server:
            system = AskExpertSystem(expert_model="m", expert_base_url=server.url, structured_advice=structured)
            system.prepare()
            generation = system.generate([example], GenerationSettings(max_new_tokens=30))[0]
        expert_body, responder_body = server.bodies
        if structured:
            schema = expert_body["response_format"]["json_schema"]["schema"]
            assert list(schema["properties"]) == ["Feeling", "Cause", "Strategy", "Advice"]
            assert schema["properties"]["Strategy"]["enum"] == EXTES_NAMES
            jsonschema.validate(advice, schema)
            # the responder reads the advice as the four lines of the prompt-only format
            assert "Strategy: Emotional Validation\nAdvice: say the pain makes sense" in responder_body["messages"][0]["content"]
            assert generation.predicted_strategy == "Emotional Validation"
        else:
            assert "response_format" not in expert_body


def test_expert_advice_cut_short_keeps_its_complete_fields():
    from escbench.plugins.systems.expert_advice import advice_lines

    cut = '{"Feeling": "tired \\"and\\" sad", "Cause": "exams", "Strategy": "Affirmation", "Advice": "tell them th'
    assert advice_lines(cut) == 'Feeling: tired "and" sad\nCause: exams\nStrategy: Affirmation'
    assert advice_lines("Feeling: sad\nStrategy: Affirmation") == "Feeling: sad\nStrategy: Affirmation"


def test_the_short_utterance_thresholds_are_command_line_settings(tmp_path):
    answer = dialogue_answer()
    for turn in answer["Content"][0::2]:
        turn["User"] = f"I feel {turn['User'].split()[1].lower()}."  # three words each
    for extra, accepted in (((), 1), (("--min-words", "4"), 0), (("--min-words", "4", "--max-short-share", "0.5"), 1)):
        out = tmp_path / "-".join(extra or ("default",))
        with ScriptedServer(answering(json.dumps(answer))) as server:
            assert expand(server, out, *extra) == 0
        assert len(json.loads((out / "dialogues.json").read_text())) == accepted, extra
        if not accepted:
            [reject] = [json.loads(line) for line in (out / "rejects.jsonl").read_text().splitlines()]
            assert reject["reason"] == "too_few_words"


def test_the_extended_schema_profile_bounds_utterances_and_makes_turns_alternate(tmp_path):
    with ScriptedServer(answering(json.dumps(dialogue_answer()))) as server:
        assert expand(server, tmp_path / "out", "--schema-profile", "extended", "--max-utterance-chars", "90",
                      "--max-description-chars", "60") == 0
    [body] = server.bodies
    schema = body["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["Description"]["maxLength"] == 60
    content = schema["properties"]["Content"]
    assert [list(turn["properties"])[0] for turn in content["prefixItems"]] == ["User", "AI"] * 6
    assert content["items"] is False and content["prefixItems"][0]["properties"]["User"]["maxLength"] == 90
    jsonschema.validate(dialogue_answer(), schema)
    swapped = dialogue_answer()
    swapped["Content"][0], swapped["Content"][1] = swapped["Content"][1], swapped["Content"][0]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(swapped, schema)
    assert len(json.loads((tmp_path / "out" / "dialogues.json").read_text())) == 1


def test_a_bad_schema_limit_is_refused_naming_the_flag_before_anything_is_sent(tmp_path, capsys):
    with ScriptedServer(answering(json.dumps(dialogue_answer()))) as server:
        assert expand(server, tmp_path / "out", "--schema-profile", "extended", "--max-utterance-chars", "0") != 0
    assert server.bodies == []
    assert "--max-utterance-chars" in capsys.readouterr().err
