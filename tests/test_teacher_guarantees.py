"""Issue #17, the client side: what the teacher client retries, how it names a failure's cause,
what it counts as unknown, and the tokens-per-minute limit, against the scripted servers."""
from __future__ import annotations

import json
import socket
import time

import pytest

from fake_openai_server import FakeServer, FakeTeacher
from escbench.harness.backends.openai import OpenAIBackend
from escbench.harness.errors import EscbenchError
from escbench.harness.registry import GenerationSettings
from local_http import Answer, Request
from escbench.plugins.chatpal.journal import Journal
from escbench.plugins.chatpal.pricing import Price, PriceTable
from escbench.plugins.chatpal.teacher import Teacher, TeacherRequest, TeacherSettings
from scripted_openai import Reply, ScriptedServer, completion

GREEDY = GenerationSettings(max_new_tokens=12, seed=5)
HI = [[{"role": "user", "content": "hi"}]]


@pytest.fixture(autouse=True, params=["aiohttp", "httpx"])
def transport(request, monkeypatch) -> str:
    monkeypatch.setenv("ESCBENCH_HTTP_TRANSPORT", request.param)
    return request.param


def backend(url: str, **options) -> OpenAIBackend:
    return OpenAIBackend(**{"model": "m", "base_url": url, "backoff_s": 0.01, "max_backoff_s": 0.05, **options})


def teacher(url: str, journal: Journal, **options) -> Teacher:
    return Teacher(backend(url, **options), journal, TeacherSettings(max_tokens=50),
                   prices=PriceTable({"m": Price(1.0, 1.0)}))


def one_request(text: str = "hello") -> list[TeacherRequest]:
    return [TeacherRequest([{"role": "user", "content": text}])]


# -- 6. --timeout bounds the whole attempt ------------------------------------------------------
def test_a_trickled_body_longer_than_the_timeout_is_not_accepted():
    # 20 pieces over 6 s: no gap reaches the 1.5 s timeout, the whole answer does.
    with ScriptedServer(lambda n, body: Reply(trickle_s=6.0)) as server:
        with pytest.raises(EscbenchError, match="timed out") as caught:
            backend(server.url, timeout=1.5, max_retries=0).complete(HI, GREEDY)
    assert "1.5" in str(caught.value)


# -- 7. an HTTP 200 that is not a usable completion is retried, then quoted ---------------------
BAD_BODIES = [b'{"id": "x", "choices": [{"index": 0, "message": {"content": "cut', b"<html><body>502 Bad Gateway</body></html>",
              json.dumps({"error": {"message": "overloaded"}}).encode(), json.dumps({"choices": []}).encode()]


@pytest.mark.parametrize("bad", BAD_BODIES)
def test_an_unusable_200_is_retried_like_a_transient_error(bad, tmp_path):
    def script(number: int, body: dict) -> Reply:
        return Reply(raw=bad) if number == 0 else Reply(content="fine")

    with ScriptedServer(script) as server, Journal(tmp_path / "j.jsonl") as journal:
        reply = teacher(server.url, journal).run(one_request())[0]
    assert (reply.error, reply.text, server.requests) == (None, "fine", 2)


def test_an_unusable_200_that_never_improves_is_rejected_with_the_body_quoted(tmp_path):
    with ScriptedServer(lambda n, body: Reply(raw=BAD_BODIES[1])) as server, Journal(tmp_path / "j.jsonl") as journal:
        reply = teacher(server.url, journal, max_retries=2).run(one_request())[0]
        assert len(journal) == 0  # transient: the next run sends it again
    assert server.requests == 3 and reply.failure == "request_failed"
    assert "502 Bad Gateway" in reply.error


# -- 8. the real cause; unknown usage; refusals ---------------------------------------------------
def test_a_refused_connection_is_reported_as_refused_not_as_a_timeout():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    with pytest.raises(EscbenchError) as caught:
        backend(url, max_retries=0).complete(HI, GREEDY)
    assert "connection refused" in str(caught.value) and "timed out" not in str(caught.value)


def test_a_name_that_does_not_resolve_is_reported_as_a_dns_failure():
    with pytest.raises(EscbenchError) as caught:  # .invalid never resolves (RFC 6761)
        backend("http://no-such-teacher.invalid/v1", max_retries=0, timeout=20).complete(HI, GREEDY)
    if "timed out" in str(caught.value):
        pytest.skip("this machine's resolver does not answer, so the lookup times out")
    assert "DNS lookup failed" in str(caught.value)


def test_a_reset_before_any_answer_is_reported_as_a_reset():
    with ScriptedServer(lambda n, body: Reply(reset=True)) as server:
        with pytest.raises(EscbenchError) as caught:
            backend(server.url, max_retries=1).complete(HI, GREEDY)
    assert server.requests == 2  # retried
    assert "closed by the server" in str(caught.value) and "timed out" not in str(caught.value)


def test_usage_that_is_not_a_number_is_counted_unknown_not_zero(tmp_path):
    def script(number: int, body: dict) -> Reply:
        payload = completion(body, "fine")
        payload["usage"] = {"prompt_tokens": "n/a", "completion_tokens": 3}
        return Reply(payload=payload)

    with ScriptedServer(script) as server, Journal(tmp_path / "j.jsonl") as journal:
        client = teacher(server.url, journal)
        reply = client.run(one_request())[0]
    assert reply.usage == {"prompt_tokens": None, "completion_tokens": 3}
    assert (client.usage.unknown_usage, client.usage.completion_tokens) == (1, 3)


def test_a_refusal_with_null_content_is_kept_as_a_refusal(tmp_path):
    def script(number: int, body: dict) -> Reply:
        payload = completion(body, "")
        payload["choices"][0]["message"] = {"role": "assistant", "content": None, "refusal": "I can't help with that."}
        return Reply(payload=payload)

    with ScriptedServer(script) as server:
        with Journal(tmp_path / "j.jsonl") as journal:
            reply = teacher(server.url, journal).run(one_request())[0]
        assert server.requests == 1 and reply.error is None
        assert (reply.text, reply.refusal) == ("", "I can't help with that.")
        with Journal(tmp_path / "j.jsonl") as journal:  # recorded: a re-run does not ask again...
            assert teacher(server.url, journal).run(one_request())[0].refusal == "I can't help with that."
            assert server.requests == 1
            client = teacher(server.url, journal)  # ...unless asked to
            client.retry_failed = True
            client.run(one_request())
        assert server.requests == 2


# -- 4. the tokens-per-minute limit uses its whole budget -----------------------------------------
class StampedServer(FakeServer):
    """Records (arrival time, tokens its answer reports) for every completion request."""

    def __init__(self, **options):
        self.stamps: list[tuple[float, int]] = []
        super().__init__(FakeTeacher(), **options)

    def route(self, request: Request) -> Answer:
        answer = super().route(request)
        if request.method == "POST":
            usage = answer.payload["usage"]
            self.stamps.append((time.monotonic(), usage["prompt_tokens"] + usage["completion_tokens"]))
        return answer


def test_the_token_limit_uses_at_least_90_percent_of_its_budget_at_concurrency_8(tmp_path, transport):
    if transport == "httpx":
        pytest.skip("the limiter does not depend on the transport; one run is enough")
    window_s, budget = 2.0, 6000  # tokens per window: the 60 s window scaled down
    # Answers of ~190 tokens against estimates of ~420 (prompt + max_tokens): ~32 requests a window.
    prompts = [TeacherRequest([{"role": "user", "content": f"AI: [New response]\nWrite exactly 12 replies (q{i})"}],
                              sample=i) for i in range(160)]
    with StampedServer(latency_s=0.05) as server, Journal(tmp_path / "j.jsonl") as journal:
        client = Teacher(backend(server.url, model="teacher", concurrency=8), journal, TeacherSettings(max_tokens=400),
                         tpm=budget * 60 / window_s, tpm_window_s=window_s)
        client.run(prompts)
    times = [t for t, _ in server.stamps]
    # Arrival times trail the client's admissions by a few ms of varying delay: a window 50 ms short absorbs it.
    assert max(sum(n for t, n in server.stamps if start <= t < start + window_s - 0.05) for start in times) <= budget
    start, whole = times[0], int((times[-1] - times[0]) // window_s)
    assert whole >= 2  # the budget, not the prompts, decided how long the run took
    used = [sum(n for t, n in server.stamps if start + i * window_s <= t < start + (i + 1) * window_s)
            for i in range(whole)]
    assert min(used) >= 0.9 * budget, used
