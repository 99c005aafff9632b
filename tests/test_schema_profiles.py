"""Schema profiles of the teacher's answers: ``portable`` keeps to the keywords OpenAI's strict
mode documents; ``extended`` bounds utterances and descriptions and makes turns alternate from
User, and both jsonschema (the reference validator) and the xgrammar matcher built from it
refuse answers that break those rules."""
from __future__ import annotations

import json

import jsonschema
import pytest

from escbench.harness.catalogs import load_strategy_catalog
from escbench.plugins.chatpal.schemas import SchemaOptions, dialogue_schema, replies_schema

SCENE = "Academic Stress"
STRATEGY = "Reflective Statements"  # a name of tasks/catalogs/strategies-extes.yaml
EXTENDED = SchemaOptions(profile="extended", utterance_chars=40, description_chars=50)
# Keywords OpenAI's Structured Outputs guide lists as supported in strict mode (written out by
# hand from the guide, not taken from our code); maxLength and prefixItems are not among them.
OPENAI_STRICT_KEYWORDS = {"type", "properties", "required", "additionalProperties", "items", "minItems",
                          "maxItems", "anyOf", "enum", "description", "pattern", "format", "const"}


def keywords(schema) -> set[str]:
    found: set[str] = set()
    if isinstance(schema, dict):
        for key, value in schema.items():
            found.add(key)
            if key == "properties":
                for sub in value.values():
                    found |= keywords(sub)
            elif isinstance(value, (dict, list)):
                found |= keywords(value)
    elif isinstance(schema, list):
        for item in schema:
            found |= keywords(item)
    return found


def dialogue(turns: list[tuple[str, str]], description: str = "A student worries about exams.") -> dict:
    content = [{"User": t} if role == "User" else {"AI": t, "AI Strategy": STRATEGY} for role, t in turns]
    return {"Scene": SCENE, "Description": description, "Content": content}


GOOD = [("User", "Exams start Monday."), ("AI", "That sounds stressful."), ("User", "It is."),
        ("AI", "What worries you most?")]
BAD = {
    "two User turns in a row": dialogue([("User", "Exams start Monday."), ("User", "I am scared."),
                                         ("AI", "That sounds stressful."), ("User", "It is.")]),
    "starts with AI": dialogue([("AI", "Hello there."), ("User", "Exams start Monday."),
                                ("AI", "That sounds stressful."), ("User", "It is.")]),
    "utterance over 40 characters": dialogue([("User", "Exams start Monday " + "and I am so scared " * 2)] + GOOD[1:]),
    "description over 50 characters": dialogue(GOOD, description="A student " + "worries a lot " * 4),
    "too many turns": dialogue(GOOD + [("User", "Yes."), ("AI", "I see."), ("User", "Thanks.")]),
}


@pytest.fixture(scope="module")
def catalog():
    return load_strategy_catalog("extes")


def test_portable_schemas_use_only_openai_strict_keywords(catalog):
    for schema in (dialogue_schema(catalog, SCENE, 4, 6), dialogue_schema(None, None, 4, None),
                   replies_schema(3, catalog), replies_schema(3, None)):
        assert keywords(schema) <= OPENAI_STRICT_KEYWORDS, keywords(schema) - OPENAI_STRICT_KEYWORDS
    extended = keywords(dialogue_schema(catalog, SCENE, 4, 6, EXTENDED))
    assert {"maxLength", "prefixItems"} <= extended


def test_jsonschema_accepts_an_alternating_dialogue_and_refuses_each_broken_one(catalog):
    schema = dialogue_schema(catalog, SCENE, 4, 6, EXTENDED)
    jsonschema.validate(dialogue(GOOD), schema)
    for label, answer in BAD.items():
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(answer, schema)
            pytest.fail(f"accepted: {label}")
    # The portable profile cannot say these things: the same answers (bar the turn count) pass.
    portable = dialogue_schema(catalog, SCENE, 4, 6)
    for label in ("two User turns in a row", "starts with AI", "utterance over 40 characters"):
        jsonschema.validate(BAD[label], portable)


def test_extended_replies_bound_each_response(catalog):
    schema = replies_schema(2, catalog, EXTENDED)
    jsonschema.validate({"replies": [{"strategy": STRATEGY, "response": "I hear you."}] * 2}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"replies": [{"strategy": STRATEGY, "response": "I hear you. " * 5}] * 2}, schema)


def test_an_unknown_profile_or_limit_is_a_clear_error():
    with pytest.raises(ValueError, match="profile 'openai' must be one of portable, extended"):
        SchemaOptions(profile="openai")
    with pytest.raises(ValueError, match="at least 1"):
        SchemaOptions(profile="extended", utterance_chars=0)


def _matcher_verdict(xgr, grammar, stop: int, answer: dict) -> str:
    matcher = xgr.GrammarMatcher(grammar)
    # The grammar is compiled with fixed whitespace: ", " and ": " (json.dumps' defaults).
    if not matcher.accept_string(json.dumps(answer, ensure_ascii=False)):
        return "refused"
    return "complete" if matcher.accept_token(stop) else "incomplete"


@pytest.fixture(scope="module")
def grammar_of():
    """``(xgrammar, grammar_of(schema), stop token)``: schemas compiled against the embedded
    model's tokenizer (skips when xgrammar or the converted model is missing)."""
    xgr = pytest.importorskip("xgrammar")
    from transformers import AutoTokenizer

    from escbench.harness.backends.constrained import compiled_grammar
    from escbench.harness.models import embedded_model_dir

    folder = embedded_model_dir()
    if not (folder / "tokenizer.json").is_file():
        pytest.skip(f"the embedded model is not converted yet ({folder})")
    tokenizer = AutoTokenizer.from_pretrained(folder)

    class Model:  # compiled_grammar reads only config.vocab_size
        config = type("Config", (), {"vocab_size": len(tokenizer)})()

    return xgr, lambda schema: compiled_grammar(Model(), tokenizer, schema), tokenizer.eos_token_id


def test_the_xgrammar_matcher_of_the_extended_schema_refuses_broken_dialogues(catalog, grammar_of):
    xgr, compile_schema, stop = grammar_of
    grammar = compile_schema(dialogue_schema(catalog, SCENE, 4, 6, EXTENDED))
    assert _matcher_verdict(xgr, grammar, stop, dialogue(GOOD)) == "complete"
    assert _matcher_verdict(xgr, grammar, stop, dialogue(GOOD[:3])) == "refused"  # "]" before min_turns
    for label, answer in BAD.items():
        assert _matcher_verdict(xgr, grammar, stop, answer) == "refused", label
    # A known limit of xgrammar 0.2.9 (documented in plugins/chatpal/schemas.py): a string with a
    # maxLength admits no escapes, although JSON Schema allows them.
    quoted = dialogue([("User", 'She said "enough".')] + GOOD[1:])
    jsonschema.validate(quoted, dialogue_schema(catalog, SCENE, 4, 6, EXTENDED))
    assert _matcher_verdict(xgr, grammar, stop, quoted) == "refused"


SENTENCES = SchemaOptions(profile="extended", utterance_chars=40, description_chars=60, sentences=True)
SENTENCE_GOOD = [("User", "Exams start on Monday."), ("AI", "That sounds stressful."),
                 ("User", "It really is, yes."), ("AI", "What worries you most?")]
# Each breaks the plain-sentence rule in one utterance (hand-picked from what SmolLM2 wrote
# under the extended schema without it: slots, markup, empty and two-word turns).
SENTENCE_BAD = {
    "template slot": "{display_name}",
    "markup": "I feel <b>so</b> alone today.",
    "empty": "",
    "two words": "Okay then",
    "lower-case start": "exams start on Monday.",
    "quote inside": 'She said "enough" to me.',
    "over 40 characters": "Exams start on Monday and I am so scared of them.",
}


def test_plain_sentences_refuse_slots_markup_and_short_turns_in_jsonschema(catalog):
    schema = dialogue_schema(catalog, SCENE, 4, 6, SENTENCES)
    jsonschema.validate(dialogue(SENTENCE_GOOD, description="A student worries about the exams."), schema)
    for label, text in SENTENCE_BAD.items():
        answer = dialogue([("User", text)] + SENTENCE_GOOD[1:], description="A student worries about the exams.")
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(answer, schema)
            pytest.fail(f"accepted: {label}")
    with pytest.raises(jsonschema.ValidationError):  # the description follows the same rule
        jsonschema.validate(dialogue(SENTENCE_GOOD, description="[Use ListItem] worries"), schema)
    with pytest.raises(ValueError, match="need the extended schema profile"):
        SchemaOptions(sentences=True)


def test_the_xgrammar_matcher_of_plain_sentences_agrees_with_jsonschema(catalog, grammar_of):
    xgr, compile_schema, stop = grammar_of
    grammar = compile_schema(dialogue_schema(catalog, SCENE, 4, 6, SENTENCES))
    description = "A student worries about the exams."
    assert _matcher_verdict(xgr, grammar, stop, dialogue(SENTENCE_GOOD, description)) == "complete"
    for label, text in SENTENCE_BAD.items():
        answer = dialogue([("User", text)] + SENTENCE_GOOD[1:], description)
        assert _matcher_verdict(xgr, grammar, stop, answer) == "refused", label
