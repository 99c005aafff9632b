"""The teacher client against the scripted server: journal and resume, retries, limits, usage."""
from __future__ import annotations

import json
import time

import pytest

from fake_openai_server import Faults, FakeServer, FakeTeacher
from escbench.harness.backends.openai import BackendSettingError, OpenAIBackend, run_coroutine
from escbench.harness.errors import ConfigError
from escbench.plugins.chatpal.journal import Journal
from escbench.plugins.chatpal.pricing import Price, PriceTable
from escbench.plugins.chatpal.ratelimit import RateLimiter
from escbench.plugins.chatpal.teacher import Teacher, TeacherRequest, TeacherSettings


def requests(count: int, prefix: str = "q") -> list[TeacherRequest]:
    return [TeacherRequest([{"role": "user", "content": f"AI: [New response]\nWrite exactly 2 replies ({prefix}{i})"}],
                           sample=i, tag={"i": i}) for i in range(count)]


def teacher(server: FakeServer, journal: Journal, **backend_args) -> Teacher:
    options = {"concurrency": 4, "max_retries": 4, "timeout": 5.0, "backoff_s": 0.01, **backend_args}
    prices = PriceTable({"teacher": Price(prompt=2.0, completion=10.0)})
    return Teacher(OpenAIBackend("teacher", base_url=server.url, **options), journal,
                   TeacherSettings(max_tokens=50), prices=prices, task="test")


def test_answers_come_back_in_request_order_and_are_journaled(tmp_path):
    with FakeServer() as server, Journal(tmp_path / "j.jsonl") as journal:
        replies = teacher(server, journal).run(requests(12))
    assert [r.text.split("\n")[1].startswith("1. ") for r in replies] == [True] * 12
    lines = [json.loads(line) for line in (tmp_path / "j.jsonl").read_text().splitlines()]
    assert sorted(line["key"] for line in lines) == sorted(r.key for r in replies)
    assert {line["tag"]["i"] for line in lines} == set(range(12))
    assert sum(server.answered.values()) == 12


def test_a_second_run_sends_nothing_and_returns_the_same_answers(tmp_path):
    with FakeServer() as server:
        with Journal(tmp_path / "j.jsonl") as journal:
            first = teacher(server, journal).run(requests(8))
        with Journal(tmp_path / "j.jsonl") as journal:
            again = teacher(server, journal)
            second = again.run(requests(8))
    assert [r.text for r in second] == [r.text for r in first]
    assert all(r.from_journal for r in second)
    assert (again.usage.requests_sent, again.usage.from_journal) == (0, 8)
    assert sum(server.received.values()) == 8


def test_equal_requests_in_one_run_are_sent_once(tmp_path):
    with FakeServer() as server, Journal(tmp_path / "j.jsonl") as journal:
        replies = teacher(server, journal).run(requests(3) + requests(3))
    assert [r.text for r in replies[:3]] == [r.text for r in replies[3:]]
    assert sum(server.received.values()) == 3


def test_the_sample_id_separates_equal_prompts(tmp_path):
    same = [TeacherRequest([{"role": "user", "content": "Target scene: Academic Stress"}], sample=s) for s in (0, 1)]
    with FakeServer() as server, Journal(tmp_path / "j.jsonl") as journal:
        first, second = teacher(server, journal).run(same)
    assert first.key != second.key and first.text != second.text


def test_a_torn_last_journal_line_is_dropped_and_only_that_request_is_resent(tmp_path):
    path = tmp_path / "j.jsonl"
    with FakeServer() as server:
        with Journal(path) as journal:
            teacher(server, journal).run(requests(5))
        data = path.read_bytes()
        path.write_bytes(data[: len(data) - 40])  # the last record loses its end, as after a kill mid-write
        with Journal(path) as journal:
            assert len(journal) == 4
            again = teacher(server, journal)
            again.run(requests(5))
    assert again.usage.requests_sent == 1
    assert sorted(server.received.values()) == [1, 1, 1, 1, 2]
    assert len(path.read_text().splitlines()) == 5


def test_a_second_process_cannot_use_a_journal_in_use(tmp_path):
    with Journal(tmp_path / "j.jsonl"):
        with pytest.raises(ConfigError, match="in use"):
            Journal(tmp_path / "j.jsonl").open()


def test_429_bursts_500s_and_timeouts_are_retried_until_answered(tmp_path):
    faults = Faults(burst_429=(1, 8), first_attempt_500=0.3, first_attempt_timeout=0.2, timeout_sleep_s=2.5)
    with FakeServer(FakeTeacher(faults)) as server, Journal(tmp_path / "j.jsonl") as journal:
        client = teacher(server, journal, timeout=1.0)
        replies = client.run(requests(20))
    assert all(r.error is None and r.text for r in replies)
    assert client.usage.retries >= 7  # the whole 429 burst at least
    assert client.usage.requests_sent == sum(server.received.values())
    assert set(server.answered.values()) == {1} and len(server.answered) == 20


def test_a_request_that_keeps_failing_is_reported_and_not_journaled(tmp_path):
    faults = Faults(burst_429=(1, 10_000))
    with FakeServer(FakeTeacher(faults)) as server, Journal(tmp_path / "j.jsonl") as journal:
        client = teacher(server, journal, max_retries=2)
        replies = client.run(requests(2))
        assert len(journal) == 0
    assert all(r.error and "429" in r.error for r in replies)
    assert client.usage.failed == 2
    assert sum(server.received.values()) == 6  # 1 + 2 retries each


def test_a_model_the_server_does_not_serve_stops_the_run_naming_the_setting(tmp_path):
    with FakeServer(model="other") as server, Journal(tmp_path / "j.jsonl") as journal:
        with pytest.raises(BackendSettingError, match="model"):
            teacher(server, journal).run(requests(1))
    assert sum(server.received.values()) == 0


def test_requests_per_minute_limit_paces_the_requests(tmp_path):
    with FakeServer() as server, Journal(tmp_path / "j.jsonl") as journal:
        client = teacher(server, journal, concurrency=16)
        client.rpm = 600  # 10 a second, a burst of 2.5 allowed
        started = time.perf_counter()
        client.run(requests(12))
        elapsed = time.perf_counter() - started
    assert elapsed >= 0.9  # (12 - 2.5) / 10 s at least (no upper bound: the machine may be busy)


def test_tokens_per_minute_limit_paces_by_estimated_tokens():
    async def spend() -> float:
        limiter = RateLimiter(per_minute=6000, burst_s=0.0)  # 100 tokens a second, no burst
        started = time.perf_counter()
        for _ in range(4):
            await limiter.acquire(50)
        return time.perf_counter() - started

    assert 1.4 <= run_coroutine(spend()) < 2.5  # 50 + 3 x 50 tokens wait 1.5 s after the first


def test_usage_and_cost_follow_the_price_table(tmp_path):
    with FakeServer() as server, Journal(tmp_path / "j.jsonl") as journal:
        client = teacher(server, journal)
        client.run(requests(4))
    usage = client.usage
    assert usage.completed == 4 and usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.cost == pytest.approx((usage.prompt_tokens * 2.0 + usage.completion_tokens * 10.0) / 1e6)


def test_price_table_matches_model_versions_by_prefix(tmp_path):
    path = tmp_path / "prices.yaml"
    path.write_text("per_tokens: 1000\nmodels:\n  gpt-x: {prompt: 1, completion: 2}\n  gpt-x-mini: {prompt: 0.1, completion: 0.2}\n")
    table = PriceTable.load(path)
    assert table.cost("gpt-x-mini-2025-01-01", 1000, 1000) == pytest.approx(0.3)
    assert table.cost("gpt-x-2025", 1000, 0) == pytest.approx(1.0)
    assert table.cost("claude", 10, 10) is None
