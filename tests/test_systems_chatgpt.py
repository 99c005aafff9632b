"""The ``chatgpt`` system: prompt building, what its config records (prompt hash, never the
key), errors naming the setting to fix, and generation against a scripted server."""
from __future__ import annotations

import json
import socket

import pytest

from escbench.harness.data import Example, Turn
from escbench.harness.errors import SystemUnavailableError
from escbench.harness.models import file_sha256
from escbench.harness.paths import TASKS_DIR
from escbench.harness.registry import GenerationSettings
from escbench.plugins.systems.chatgpt import ChatGPTSystem
from scripted_openai import Reply, ScriptedServer

EXAMPLE = Example(
    dialogue_id="d1", turn_index=3, reference="ref", scene="Job Loss", description="Laid off after ten years.",
    context=(Turn("user", "I lost my job."), Turn("ai", "I'm sorry, that is a shock.", "Empathetic Statements"),
             Turn("user", "I don't know what to do now.")),
)


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/v1"


def test_request_carries_the_filled_system_prompt_and_the_dialogue():
    with ScriptedServer(lambda n, body: Reply(content="That sounds really hard.")) as server:
        system = ChatGPTSystem(model="m", base_url=server.url)
        system.prepare()
        generation = system.generate([EXAMPLE], GenerationSettings(max_new_tokens=20))[0]
    messages = server.bodies[0]["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert "Topic of the conversation: Job Loss" in messages[0]["content"]
    assert "Laid off after ten years." in messages[0]["content"]
    assert "#" not in messages[0]["content"]  # template comments never reach the model
    assert messages[2]["content"] == "I'm sorry, that is a shock."  # no strategy tag in the context
    assert generation.text == "That sounds really hard." and generation.predicted_strategy is None
    assert generation.usage == {"prompt_tokens": 7, "completion_tokens": 3}


def test_empty_scene_and_description_lines_are_dropped():
    bare = Example(dialogue_id="d", turn_index=1, context=(Turn("user", "hi"),), reference="")
    with ScriptedServer() as server:
        ChatGPTSystem(model="m", base_url=server.url).generate([bare], GenerationSettings())
    assert "Topic" not in server.bodies[0]["messages"][0]["content"]


def test_max_context_turns_keeps_the_latest_turns():
    with ScriptedServer() as server:
        ChatGPTSystem(model="m", base_url=server.url, max_context_turns=1).generate([EXAMPLE], GenerationSettings())
    assert [m["role"] for m in server.bodies[0]["messages"]] == ["system", "user"]


def test_config_records_the_prompt_hash_and_endpoint_but_never_the_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value")
    system = ChatGPTSystem(model="gpt-4o-mini", base_url="http://127.0.0.1:9/v1")
    config = system.config()
    assert config["system_prompt_sha256"] == file_sha256(TASKS_DIR / "prompts" / "chatgpt" / "system.txt")
    assert (config["model"], config["base_url"]) == ("gpt-4o-mini", "http://127.0.0.1:9/v1")
    assert "sk-secret-value" not in json.dumps(config)


def test_unreachable_server_fails_prepare_naming_system_and_base_url():
    url = closed_port_url()
    with pytest.raises(SystemUnavailableError) as caught:
        ChatGPTSystem(model="m", base_url=url).prepare()
    assert str(caught.value).startswith("system 'chatgpt': setting base_url=")
    assert repr(url) in str(caught.value)


def test_a_model_the_server_does_not_serve_fails_prepare_naming_model():
    with ScriptedServer(models=("llama",)) as server:
        with pytest.raises(SystemUnavailableError, match=r"setting model='gpt-3.5-turbo'.*serves: llama"):
            ChatGPTSystem(base_url=server.url).prepare()
    assert server.requests == 0  # nothing generated


def test_a_missing_prompt_file_names_the_system_prompt_setting(tmp_path):
    with pytest.raises(SystemUnavailableError, match="setting system_prompt="):
        ChatGPTSystem(model="m", base_url="http://127.0.0.1:9/v1", system_prompt=str(tmp_path / "nope.txt")).prepare()


def test_chat_passes_messages_through_unchanged():
    messages = [{"role": "system", "content": "Be a teacher."}, {"role": "user", "content": "Write a dialogue."}]
    with ScriptedServer() as server:
        reply = ChatGPTSystem(model="m", base_url=server.url).chat([messages], GenerationSettings())[0]
    assert server.bodies[0]["messages"] == messages
    assert reply.text == "echo: Write a dialogue."
