"""The OpenAI-compatible backend against a scripted server on 127.0.0.1: request contents,
n samples, usage, retries (429 with retry-after, 5xx, timeouts), errors that name the
setting to fix, and the concurrency limit. Every test runs on both HTTP transports."""
from __future__ import annotations

import socket
import time

import pytest

from escbench.harness.backends.openai import BackendSettingError, OpenAIBackend, retry_after_seconds
from escbench.harness.errors import ConfigError, EscbenchError
from escbench.harness.registry import GenerationSettings
from scripted_openai import Reply, ScriptedServer

GREEDY = GenerationSettings(max_new_tokens=12, seed=5)


@pytest.fixture(autouse=True, params=["aiohttp", "httpx"])
def transport(request, monkeypatch) -> str:
    """The SDK's HTTP layer every backend in the test uses (through $ESCBENCH_HTTP_TRANSPORT)."""
    monkeypatch.setenv("ESCBENCH_HTTP_TRANSPORT", request.param)
    return request.param


def conversation(text: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": "be kind"}, {"role": "user", "content": text}]


def backend(server: ScriptedServer, **options) -> OpenAIBackend:
    options = {"model": "m", "base_url": server.url, "backoff_s": 0.01, "max_backoff_s": 0.05, **options}
    return OpenAIBackend(**options)


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def test_replies_come_back_in_order_with_usage():
    with ScriptedServer() as server:
        generations = backend(server).generate([conversation(f"hello {i}") for i in range(5)], GREEDY)
    assert [g.text for g in generations] == [f"echo: hello {i}" for i in range(5)]
    assert generations[0].usage == {"prompt_tokens": 7, "completion_tokens": 3}
    assert server.requests == 5


def test_greedy_settings_become_temperature_zero_with_seed_and_max_tokens():
    with ScriptedServer() as server:
        backend(server).generate([conversation("hi")], GREEDY, stop=["\nUser:"])
    body = server.bodies[0]
    assert body["temperature"] == 0.0
    assert body["max_tokens"] == 12 and body["seed"] == 5 and body["n"] == 1
    assert body["stop"] == ["\nUser:"]
    assert body["messages"] == conversation("hi")


def test_sampling_settings_are_sent():
    settings = GenerationSettings(do_sample=True, temperature=0.7, top_p=0.9)
    with ScriptedServer() as server:
        backend(server).generate([conversation("hi")], settings)
    assert (server.bodies[0]["temperature"], server.bodies[0]["top_p"]) == (0.7, 0.9)


def test_n_samples_return_n_choices_from_one_request():
    with ScriptedServer() as server:
        results = backend(server).complete([conversation("a"), conversation("b")], GREEDY, n=3)
    assert [len(r.choices) for r in results] == [3, 3]
    assert results[1].choices == ["echo: b"] * 3
    assert results[0].usage == {"prompt_tokens": 7, "completion_tokens": 9}
    assert server.requests == 2


def test_stop_strings_trim_text_but_not_raw():
    with ScriptedServer(lambda n, body: Reply(content="Sure.\nUser: more")) as server:
        generation = backend(server).generate([conversation("x")], GREEDY, stop=["\nUser:"])[0]
    assert generation.text == "Sure."
    assert generation.raw == "Sure.\nUser: more"


def test_429_is_retried_after_the_retry_after_header():
    script = lambda n, body: Reply(429, headers={"retry-after": "0.3"}) if n == 0 else Reply()
    with ScriptedServer(script) as server:
        client = backend(server)
        started = time.perf_counter()
        generation = client.generate([conversation("hi")], GREEDY)[0]
        elapsed = time.perf_counter() - started
    assert generation.text == "echo: hi"
    assert server.requests == 2 and client.stats.retries == 1
    assert elapsed >= 0.3


def test_retry_after_ms_wins_over_seconds():
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert retry_after_seconds({"retry-after": "2"}) == 2.0
    assert retry_after_seconds({}) is None


def test_server_errors_are_retried_with_backoff():
    script = lambda n, body: Reply(503) if n < 2 else Reply()
    with ScriptedServer(script) as server:
        client = backend(server)
        assert client.generate([conversation("hi")], GREEDY)[0].text == "echo: hi"
    assert server.requests == 3 and client.stats.retries == 2


def test_a_timed_out_request_is_sent_again():
    script = lambda n, body: Reply(delay_s=1.5) if n == 0 else Reply()
    with ScriptedServer(script) as server:
        client = backend(server, timeout=0.5)
        assert client.generate([conversation("slow")], GREEDY)[0].text == "echo: slow"
    assert server.requests == 2


def test_giving_up_after_max_retries_names_base_url_and_the_setting():
    with ScriptedServer(lambda n, body: Reply(500)) as server:
        with pytest.raises(EscbenchError) as caught:
            backend(server, max_retries=2).generate([conversation("hi")], GREEDY)
    assert server.requests == 3  # first try + 2 retries, nothing more
    assert server.url in str(caught.value) and "max_retries" in str(caught.value)


def test_bad_request_is_not_retried():
    with ScriptedServer(lambda n, body: Reply(400, {"error": {"message": "context too long"}})) as server:
        with pytest.raises(EscbenchError, match="context too long"):
            backend(server).generate([conversation("hi")], GREEDY)
    assert server.requests == 1


def test_refused_key_names_the_key_variable(monkeypatch):
    monkeypatch.setenv("ESCBENCH_TEST_KEY", "sk-wrong")
    with ScriptedServer(lambda n, body: Reply(401, {"error": {"message": "bad key"}})) as server:
        with pytest.raises(BackendSettingError) as caught:
            backend(server, api_key_env="ESCBENCH_TEST_KEY").generate([conversation("hi")], GREEDY)
    assert caught.value.setting == "api_key_env"
    assert "ESCBENCH_TEST_KEY" in str(caught.value) and "sk-wrong" not in str(caught.value)


def test_the_key_is_sent_as_bearer_token_from_the_named_variable(monkeypatch):
    monkeypatch.setenv("ESCBENCH_TEST_KEY", "sk-test-123")
    with ScriptedServer() as server:
        backend(server, api_key_env="ESCBENCH_TEST_KEY").generate([conversation("hi")], GREEDY)
    headers = {k.lower(): v for k, v in server.headers[0].items()}
    assert headers["authorization"] == "Bearer sk-test-123"


def test_missing_key_for_openai_itself_fails_before_sending(monkeypatch):
    monkeypatch.delenv("ESCBENCH_ABSENT_KEY", raising=False)
    client = OpenAIBackend(model="gpt-4o-mini", base_url="https://api.openai.com/v1", api_key_env="ESCBENCH_ABSENT_KEY")
    with pytest.raises(BackendSettingError) as caught:
        client.generate([conversation("hi")], GREEDY)
    assert caught.value.setting == "api_key_env" and "ESCBENCH_ABSENT_KEY" in str(caught.value)


def test_load_fails_on_an_unreachable_server_naming_base_url():
    url = closed_port_url()
    with pytest.raises(BackendSettingError) as caught:
        OpenAIBackend(model="m", base_url=url).load()
    assert caught.value.setting == "base_url" and url in str(caught.value)


def test_load_fails_when_the_model_is_not_served_and_lists_what_is():
    with ScriptedServer(models=("llama", "other")) as server:
        with pytest.raises(BackendSettingError) as caught:
            OpenAIBackend(model="gpt-4", base_url=server.url).load()
    assert caught.value.setting == "model"
    assert "'gpt-4'" in str(caught.value) and "llama, other" in str(caught.value)


def test_load_probes_servers_without_a_models_route():
    with ScriptedServer(models=None) as server:
        OpenAIBackend(model="m", base_url=server.url).load()
    assert server.requests == 1 and server.bodies[0]["max_tokens"] == 1


def test_no_more_than_concurrency_requests_are_in_flight():
    with ScriptedServer(lambda n, body: Reply(delay_s=0.05)) as server:
        backend(server, concurrency=3).generate([conversation(str(i)) for i in range(12)], GREEDY)
    assert server.max_in_flight == 3
    assert server.requests == 12 and server.overflow == 0


def test_invalid_settings_are_rejected_at_construction():
    with pytest.raises(ConfigError, match="concurrency"):
        OpenAIBackend(model="m", base_url="http://127.0.0.1:1/v1", concurrency=0)
    with pytest.raises(ConfigError, match="base_url"):
        OpenAIBackend(model="m", base_url="127.0.0.1:8000/v1")


def test_an_answer_that_is_not_a_chat_completion_is_retried_then_quoted():
    for payload in ({"result": "no choices key"}, {"choices": "a string"}):
        with ScriptedServer(lambda n, body: Reply(200, payload)) as server:
            with pytest.raises(EscbenchError, match="not a chat completion") as caught:
                backend(server, max_retries=2).generate([conversation("hi")], GREEDY)
        assert server.url in str(caught.value) and server.requests == 3  # retried like a 5xx
        assert "no choices key" in str(caught.value) or "a string" in str(caught.value)  # the body quoted


def test_a_choice_without_content_is_retried_and_odd_usage_is_unknown_not_zero():
    empty = {"choices": [{"index": 0, "message": None, "finish_reason": "stop"}]}
    odd = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "hello"}, "finish_reason": "stop"}],
           "usage": {"prompt_tokens": "many", "completion_tokens": 4}}
    with ScriptedServer(lambda n, body: Reply(200, empty if n == 0 else odd)) as server:
        client = backend(server)
        result = client.complete([conversation("hi")], GREEDY)[0]
        generation = client.generate([conversation("hi")], GREEDY)[0]
    assert server.requests == 3  # the empty choice was retried
    assert result.choices == ["hello"] and result.usage == {"prompt_tokens": None, "completion_tokens": 4}
    assert generation.text == "hello" and generation.usage == {"completion_tokens": 4}


def test_the_transport_setting_picks_the_sdks_http_client(transport, monkeypatch):
    import openai

    client = OpenAIBackend(model="m", base_url="http://127.0.0.1:1/v1")._http_client()
    expected = openai.DefaultAioHttpClient if transport == "aiohttp" else openai.DefaultAsyncHttpxClient
    assert type(client) is expected
    monkeypatch.setenv("ESCBENCH_HTTP_TRANSPORT", "auto")
    assert type(OpenAIBackend(model="m", base_url="http://127.0.0.1:1/v1")._http_client()) is openai.DefaultAioHttpClient
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")  # the aiohttp transport ignores proxies
    assert type(OpenAIBackend(model="m", base_url="http://127.0.0.1:1/v1")._http_client()) is openai.DefaultAsyncHttpxClient
    assert OpenAIBackend(model="m", base_url="https://api.example.org/v1")._http_client() is None  # the SDK default


def test_unknown_transport_and_negative_ramp_are_rejected():
    with pytest.raises(BackendSettingError) as caught:
        OpenAIBackend(model="m", base_url="http://127.0.0.1:1/v1", transport="curl")
    assert caught.value.setting == "transport" and "aiohttp, httpx" in str(caught.value)
    with pytest.raises(BackendSettingError) as caught:
        OpenAIBackend(model="m", base_url="http://127.0.0.1:1/v1", ramp_up_s=-1)
    assert caught.value.setting == "ramp_up_s"
