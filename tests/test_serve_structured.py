"""``escbench serve`` and the HF backend honour ``response_format``: the schema reaches the
model's generate per conversation (mixed batches included), systems refuse it with 400, and
(slow) the real SmolLM2 under a schema writes JSON that a reference validator accepts."""
from __future__ import annotations

import json
import sys
import threading

import openai
import pytest

from escbench.harness.backends.hf import HFBackend
from escbench.harness.errors import ConfigError
from escbench.harness.registry import Generation, GenerationSettings
from escbench.harness.serve import ChatServer, backend_responder, system_responder
from escbench.harness.structured import response_format, schema_from_response_format

SCHEMA = {"type": "object", "properties": {"mood": {"type": "string", "enum": ["calm", "tense"]}},
          "required": ["mood"], "additionalProperties": False}
MESSAGES = [{"role": "user", "content": "How do I feel?"}]


class RecordingModel:
    """A stand-in model with the HF backend's generate signature; records what each call got."""

    def __init__(self):
        self.calls: list[tuple[int, list | None]] = []

    def generate(self, conversations, settings, stop=None, progress=None, schemas=None):
        self.calls.append((len(conversations), None if schemas is None else list(schemas)))
        return [Generation(text='{"mood": "calm"}', usage={"prompt_tokens": 3, "completion_tokens": 5})
                for _ in conversations]


class NoSchemaSystem:
    name = "plain"

    def generate(self, examples, settings):
        return [Generation(text="hi") for _ in examples]


def client(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url, api_key="unused", max_retries=0)


def test_the_schema_of_a_request_reaches_the_model_and_plain_requests_send_none():
    model = RecordingModel()
    with ChatServer(backend_responder(model), "teacher", batch_wait_s=0.0).start() as server:
        client(server).chat.completions.create(model="teacher", messages=MESSAGES,
                                               response_format=response_format("mood", SCHEMA))
        client(server).chat.completions.create(model="teacher", messages=MESSAGES)
    (_, schemas), (_, plain) = model.calls
    assert [json.loads(s) for s in schemas] == [SCHEMA]
    assert plain is None


def test_concurrent_requests_with_and_without_a_schema_share_one_batch_row_by_row():
    model = RecordingModel()
    # max_batch is the number of requests: the batch closes as soon as all three are in
    with ChatServer(backend_responder(model), "teacher", max_batch=3, batch_wait_s=60.0).start() as server:
        formats = [response_format("mood", SCHEMA), None, response_format("mood", SCHEMA)]

        def ask(fmt):
            extra = {"response_format": fmt} if fmt else {}
            client(server).chat.completions.create(model="teacher", messages=MESSAGES, seed=1, **extra)

        threads = [threading.Thread(target=ask, args=(f,)) for f in formats]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(model.calls) == 1
    size, schemas = model.calls[0]
    assert size == 3
    assert sorted(s is None for s in schemas) == [False, False, True]


def test_a_served_system_answers_400_about_response_format():
    with ChatServer(system_responder(NoSchemaSystem()), "plain", batch_wait_s=0.0).start() as server:
        with pytest.raises(openai.BadRequestError) as caught:
            client(server).chat.completions.create(model="plain", messages=MESSAGES,
                                                   response_format=response_format("mood", SCHEMA))
    assert "response_format" in str(caught.value) and "--no-structured" in str(caught.value)


@pytest.mark.parametrize("value", ["json", {"type": "yaml"}, {"type": "json_schema", "json_schema": "x"}])
def test_a_malformed_response_format_is_400_naming_the_field(value):
    with ChatServer(backend_responder(RecordingModel()), "teacher", batch_wait_s=0.0).start() as server:
        with pytest.raises(openai.BadRequestError) as caught:
            client(server).chat.completions.create(model="teacher", messages=MESSAGES, response_format=value)
    assert caught.value.body["param"] == "response_format"


def test_response_format_kinds_map_to_schemas():
    assert schema_from_response_format(None) is None
    assert schema_from_response_format({"type": "text"}) is None
    assert schema_from_response_format({"type": "json_object"}) == {"type": "object"}
    assert schema_from_response_format(response_format("mood", SCHEMA)) == SCHEMA
    with pytest.raises(ValueError, match="1-64"):
        response_format("has space", SCHEMA)


def test_a_schema_without_xgrammar_is_a_config_error_with_the_install_command(monkeypatch):
    from escbench.harness.backends import constrained

    monkeypatch.setitem(sys.modules, "xgrammar", None)  # import xgrammar now raises ImportError
    with pytest.raises(ConfigError, match="pip install --no-deps xgrammar"):
        constrained.compiled_grammar(None, None, SCHEMA)


@pytest.mark.slow
def test_smollm2_served_with_a_dialogue_schema_writes_json_matching_it():
    jsonschema = pytest.importorskip("jsonschema")
    pytest.importorskip("xgrammar")
    from escbench.harness.backends import constrained
    from escbench.harness.catalogs import load_strategy_catalog
    from escbench.plugins.chatpal.schemas import dialogue_schema

    schema = dialogue_schema(load_strategy_catalog("extes"), "Academic Stress", 2, 4)
    backend = HFBackend("smollm2").load()
    question = [{"role": "user", "content": "Write a short emotional-support chat between a User and an AI about "
                                            "exam stress, as JSON with Scene, Description and Content."}]
    with ChatServer(backend_responder(backend), "teacher", batch_wait_s=0.0).start() as server:
        reply = client(server).chat.completions.create(
            model="teacher", messages=question, max_tokens=300, temperature=0,
            response_format=response_format("dialogue", schema))
    choice = reply.choices[0]
    assert choice.finish_reason == "stop", choice.message.content
    answer = json.loads(choice.message.content)
    jsonschema.validate(answer, schema)
    assert answer["Scene"] == "Academic Stress" and 2 <= len(answer["Content"]) <= 4
    cached = constrained.cached_grammars()
    constrained.compiled_grammar(backend.model, backend.tokenizer, schema)
    assert constrained.cached_grammars() == cached  # compiled once, reused by schema hash


def test_without_xgrammar_the_server_answers_400_with_the_install_command(monkeypatch):
    class TinyModel:
        config = type("Config", (), {"vocab_size": 10})()

    class NeedsGrammar(RecordingModel):
        def generate(self, conversations, settings, stop=None, progress=None, schemas=None):
            from escbench.harness.backends import constrained

            constrained.logits_processors(TinyModel(), object(), schemas, False, 1.0)
            return super().generate(conversations, settings, stop, progress, schemas)

    monkeypatch.setitem(sys.modules, "xgrammar", None)
    with ChatServer(backend_responder(NeedsGrammar()), "teacher", batch_wait_s=0.0).start() as server:
        with pytest.raises(openai.BadRequestError) as caught:
            client(server).chat.completions.create(model="teacher", messages=MESSAGES,
                                                   response_format=response_format("mood", SCHEMA))
    assert "pip install --no-deps xgrammar" in str(caught.value)
    assert caught.value.body["param"] == "response_format"
