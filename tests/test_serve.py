"""``escbench serve``: the OpenAI-compatible endpoint, called with the real ``openai`` client,
lm-eval's ``local-chat-completions`` and escbench's own OpenAI backend; batching of
concurrent requests; and (slow) the offline end-to-end run of llama, chatgpt and ask-expert
against a served SmolLM2."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading

import openai
import pytest

from conftest import REPO, run_cli
from escbench.harness.backends.openai import OpenAIBackend
from escbench.harness.registry import Generation, GenerationSettings
from escbench.harness.serve import ChatServer, system_responder


class EchoSystem:
    """A deterministic system: names how many context turns it saw and echoes the last one."""

    name = "echo-test"
    description = "echoes"

    def __init__(self, fail: bool = False):
        self.fail = fail
        self.seen = []
        self.batch_sizes = []

    def config(self):
        return {}

    def prepare(self):
        pass

    def generate(self, examples, settings):
        if self.fail:
            raise RuntimeError("model crashed")
        self.seen.extend(examples)
        self.batch_sizes.append(len(examples))
        return [Generation(text=f"{len(e.context)} turns: {e.context[-1].text}", predicted_strategy="Affirmation",
                           raw=f"[Affirmation] {e.context[-1].text}", usage={"prompt_tokens": 5, "completion_tokens": 2})
                for e in examples]


class ChattySystem(EchoSystem):
    """A system with ``chat``: gets the request's messages unchanged."""

    def chat(self, conversations, settings, stop=None):
        return [Generation(text=" | ".join(m["role"] for m in c), usage={"prompt_tokens": 1, "completion_tokens": 1})
                for c in conversations]


MESSAGES = [
    {"role": "system", "content": "You are a teacher."},
    {"role": "user", "content": "I failed my exam."},
    {"role": "assistant", "content": "That sounds hard."},
    {"role": "user", "content": "I studied so much."},
]


@pytest.fixture
def echo_server():
    system = EchoSystem()
    with ChatServer(system_responder(system), "echo-test", batch_wait_s=0.0).start() as server:
        server.system = system
        yield server


def client_for(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url, api_key="unused", max_retries=0)


def test_openai_client_gets_a_chat_completion_with_usage(echo_server):
    response = client_for(echo_server).chat.completions.create(model="echo-test", messages=MESSAGES, max_tokens=2)
    assert response.model == "echo-test"
    assert response.choices[0].message.content == "3 turns: I studied so much."
    assert response.choices[0].finish_reason == "length"  # 2 tokens used of max_tokens=2
    assert (response.usage.prompt_tokens, response.usage.completion_tokens, response.usage.total_tokens) == (5, 2, 7)


def test_predicted_strategy_and_raw_travel_in_an_extra_field(echo_server):
    response = client_for(echo_server).chat.completions.create(model="echo-test", messages=MESSAGES)
    extra = response.to_dict()["choices"][0]["escbench"]
    assert extra == {"predicted_strategy": "Affirmation", "raw": "[Affirmation] I studied so much."}


def test_a_served_system_sees_user_and_assistant_turns_but_not_the_system_message(echo_server):
    client_for(echo_server).chat.completions.create(model="echo-test", messages=MESSAGES)
    example = echo_server.system.seen[0]
    assert [(t.role, t.text) for t in example.context] == [
        ("user", "I failed my exam."), ("ai", "That sounds hard."), ("user", "I studied so much.")]


def test_a_system_with_chat_gets_the_messages_unchanged():
    with ChatServer(system_responder(ChattySystem()), "chatty").start() as server:
        response = client_for(server).chat.completions.create(model="chatty", messages=MESSAGES)
    assert response.choices[0].message.content == "system | user | assistant | user"


def test_n_returns_that_many_choices(echo_server):
    response = client_for(echo_server).chat.completions.create(model="echo-test", messages=MESSAGES, n=3)
    assert [c.index for c in response.choices] == [0, 1, 2]
    assert response.usage.completion_tokens == 6 and response.usage.prompt_tokens == 5


def test_models_lists_the_served_name(echo_server):
    assert [m.id for m in client_for(echo_server).models.list().data] == ["echo-test"]


def test_unknown_model_is_404_naming_the_served_one(echo_server):
    with pytest.raises(openai.NotFoundError, match="echo-test"):
        client_for(echo_server).chat.completions.create(model="gpt-4", messages=MESSAGES)


@pytest.mark.parametrize("change, field", [
    ({"stream": True}, "stream"),
    ({"messages": [{"role": "tool", "content": "x"}]}, "role"),
    ({"messages": []}, "messages"),
    ({"temperature": -1}, "temperature"),
    ({"n": 0}, "n"),
])
def test_invalid_requests_are_400_naming_the_field(echo_server, change, field):
    body = {"model": "echo-test", "messages": MESSAGES, **change}
    with pytest.raises(openai.BadRequestError, match=field):
        client_for(echo_server).post("/chat/completions", body=body, cast_to=object)


def test_a_failing_system_answers_500_with_the_error():
    with ChatServer(system_responder(EchoSystem(fail=True)), "broken").start() as server:
        with pytest.raises(openai.InternalServerError, match="model crashed"):
            client_for(server).chat.completions.create(model="broken", messages=MESSAGES)


def test_temperature_zero_is_greedy_and_request_fields_map_to_settings():
    seen = []

    def responder(conversations, settings, stop):
        seen.append((settings, stop))
        return [Generation(text="ok") for _ in conversations]

    with ChatServer(responder, "m").start() as server:
        client_for(server).chat.completions.create(
            model="m", messages=MESSAGES, temperature=0, max_tokens=9, seed=3, stop=["\nUser:"])
        client_for(server).chat.completions.create(model="m", messages=MESSAGES, temperature=0.5, top_p=0.8)
    greedy, sampled = seen[0][0], seen[1][0]
    assert (greedy.do_sample, greedy.max_new_tokens, greedy.seed) == (False, 9, 3)
    assert seen[0][1] == ["\nUser:"]
    assert (sampled.do_sample, sampled.temperature, sampled.top_p) == (True, 0.5, 0.8)


def test_concurrent_requests_are_batched_and_each_gets_its_own_reply():
    system = EchoSystem()
    with ChatServer(system_responder(system), "echo-test", max_batch=8, batch_wait_s=0.2).start() as server:
        replies = {}

        def ask(i):
            messages = [{"role": "user", "content": f"request {i}"}]
            response = client_for(server).chat.completions.create(model="echo-test", messages=messages)
            replies[i] = response.choices[0].message.content

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert replies == {i: f"1 turns: request {i}" for i in range(6)}
    assert max(system.batch_sizes) > 1 and sum(system.batch_sizes) == 6


def test_escbench_openai_backend_round_trips(echo_server):
    backend = OpenAIBackend(model="echo-test", base_url=echo_server.url).load()
    generations = backend.generate([MESSAGES, MESSAGES[:2]], GenerationSettings())
    assert [g.text for g in generations] == ["3 turns: I studied so much.", "1 turns: I failed my exam."]
    assert generations[0].usage == {"prompt_tokens": 5, "completion_tokens": 2}


def test_lm_eval_local_chat_completions_gets_replies(echo_server):
    from lm_eval.api.instance import Instance
    from lm_eval.models.api_models import JsonChatStr
    from lm_eval.models.openai_completions import LocalChatCompletion

    model = LocalChatCompletion(base_url=f"{echo_server.url}/chat/completions", model="echo-test",
                                tokenizer_backend=None, max_retries=1)
    requests = [
        Instance(request_type="generate_until", doc={}, idx=i, arguments=(
            JsonChatStr(json.dumps([{"role": "user", "content": f"hello {i}"}])), {"until": ["\n\n"], "max_gen_toks": 8}))
        for i in range(2)
    ]
    assert model.generate_until(requests, disable_tqdm=True) == ["1 turns: hello 0", "1 turns: hello 1"]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_command_refuses_a_system_whose_backend_is_down():
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    result = run_cli("serve", "--system", "chatgpt", "--system-args", f"base_url={url}", "--port", "0", timeout=120)
    assert result.returncode == 2
    assert "system 'chatgpt'" in result.stderr and f"base_url={url!r}" in result.stderr


def test_serve_command_refuses_a_repetition_penalty_for_a_system():
    result = run_cli("serve", "--system", "llama", "--repetition-penalty", "1.3", "--port", "0", timeout=120)
    assert result.returncode == 2
    assert "--repetition-penalty goes with --model" in result.stderr


def _start_serve(*args: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, "-m", "escbench.harness.cli", "serve", *args, "--port", "0"], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    line_box = []
    reader = threading.Thread(target=lambda: line_box.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout=180)
    line = line_box[0] if line_box else ""
    if " at http" not in line:
        process.kill()
        raise AssertionError(f"escbench serve did not start: {line!r} {process.stderr.read()[-2000:]}")
    return process, line.split(" at ", 1)[1].split()[0]


@pytest.mark.slow
def test_offline_run_of_llama_chatgpt_and_ask_expert_against_served_smollm2(tmp_path):
    process, url = _start_serve("--model", "smollm2", "--served-name", "smollm2")
    try:
        result = run_cli(
            "run", "--systems", "llama,chatgpt,ask-expert", "--limit", "2", "--max-new-tokens", "8",
            "--metrics", "distinct", "--out", str(tmp_path), "--system-args", "max_context_turns=4",
            "--system-args", f"chatgpt:base_url={url},model=smollm2",
            "--system-args", f"ask-expert:expert_base_url={url},expert_model=smollm2,advice_max_tokens=16",
            env={"OPENAI_API_KEY": ""}, timeout=300)
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("llama", "chatgpt", "ask-expert"):
        record = json.loads((tmp_path / f"{name}__seed.json").read_text())
        assert record["counts"]["generated"] == 2
        assert record["usage"]["completion_tokens"] > 0
        rows = [json.loads(line) for line in (tmp_path / f"{name}__seed.samples.jsonl").read_text().splitlines()]
        assert all(row["prediction"].strip() for row in rows)
    ask = json.loads((tmp_path / "ask-expert__seed.json").read_text())
    assert ask["system"]["config"]["expert"]["base_url"] == url
    assert len(ask["system"]["config"]["expert_prompt_sha256"]) == 64
    assert process.returncode == 0  # SIGTERM stops the server cleanly
