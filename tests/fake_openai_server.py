"""A scripted OpenAI-compatible teacher on 127.0.0.1 for the pipeline tests and benchmarks.

It answers ``POST /v1/chat/completions`` like a teacher would for escbench's expansion, DRI and
augmentation prompts (recognised by the lines the templates in ``tasks/prompts`` contain), with
texts drawn from a seeded generator so that equal requests get equal answers and different
ones get unrelated texts. It counts what it receives and answers (per request fingerprint:
the hash of the request body), and can inject faults:

* transient, per attempt: 429 bursts (by arrival number), 500s and timeouts (on the first
  attempt of some fingerprints);
* in the content, per fingerprint (so a retry gets the same): prose and code fences around the
  JSON, JSON cut in half (``finish_reason: length``), wrong speaker roles, duplicates.

Each content fault writes a marker (``fault=NAME``) into the answer so tests can check where
it ended up. Run ``python tests/fake_openai_server.py --latency 0.1`` for a standalone server
(prints its URL on the first line).
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import re
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

from local_http import Answer, Request, RoutedServer

STRATEGIES = ["Reflective Statements", "Clarification", "Emotional Validation", "Empathetic Statements",
              "Affirmation", "Offer Hope", "Suggest Options", "Collaborative Planning", "Share Information",
              "Promote Self-Care Practices", "Stress Management", "Others"]
WORDS = ("anchor basket candle delta ember falcon garden harbor island jungle kettle lantern meadow "
         "needle orchard pepper quartz river saddle timber umbrella valley willow yarn zephyr acorn "
         "bramble cobalt dune estuary fjord glacier hollow inlet juniper kelp lagoon marsh nettle "
         "oasis prairie quarry ridge spruce tundra upland vista wharf yonder zenith amber breeze "
         "cinder drizzle echo fable glimmer haze ivory jasper kindle lilac mosaic nectar opal "
         "pebble quill ripple sonnet thistle unity velvet whisper yodel zest arbor bloom cedar "
         "dapple elm fern grove heath iris jade knoll laurel moss nook olive plume reed sage").split()
CONTENT_FAULTS = ("prose", "truncated", "wrong_roles", "duplicate")


@dataclass
class Faults:
    """What to inject. Content faults take a share of fingerprints each (by hash);
    ``burst_429`` is a range of arrival numbers answered with 429; ``first_attempt_500`` and
    ``first_attempt_timeout`` are shares of fingerprints whose first attempt fails."""

    content: dict[str, float] = field(default_factory=dict)
    burst_429: tuple[int, int] | None = None
    retry_after_ms: int = 20
    first_attempt_500: float = 0.0
    first_attempt_timeout: float = 0.0
    timeout_sleep_s: float = 1.5


def fingerprint(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode("utf-8")).hexdigest()


def _share(fp: str, salt: str) -> float:
    return int(hashlib.sha256((salt + fp).encode()).hexdigest()[:8], 16) / 2 ** 32


def _sentence(rng: random.Random, lo: int = 10, hi: int = 18) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi))).capitalize() + "."


def fake_dialogue(rng: random.Random, scene: str, turns: int, strategies: bool, marker: str = "") -> dict:
    content = []
    for index in range(turns):
        if index % 2 == 0:
            content.append({"User": _sentence(rng)})
        else:
            turn = {"AI": _sentence(rng)}
            if strategies:
                turn["AI Strategy"] = rng.choice(STRATEGIES)
            content.append(turn)
    return {"Scene": scene, "Description": f"{marker}{_sentence(rng, 8, 12)}", "Content": content}


class FakeTeacher:
    """Decides each answer: ``answer(body, attempt, arrival) -> (status, payload, delay_s)``."""

    def __init__(self, faults: Faults | None = None, turns: int = 10):
        self.faults = faults or Faults()
        self.turns = turns
        self.content_faults: dict[str, str] = {}  # fingerprint -> content fault served

    def content_fault(self, fp: str) -> str | None:
        edge = 0.0
        for name in CONTENT_FAULTS:
            edge += self.faults.content.get(name, 0.0)
            if _share(fp, "content") < edge:
                return name
        return None

    def answer(self, body: dict, attempt: int, arrival: int) -> tuple[int, dict, float]:
        fp = fingerprint(body)
        f = self.faults
        if f.burst_429 and f.burst_429[0] <= arrival < f.burst_429[1]:
            return 429, {"error": {"message": "rate limited (scripted burst)", "type": "rate_limit"}}, 0.0
        if attempt == 1 and _share(fp, "500") < f.first_attempt_500:
            return 500, {"error": {"message": "scripted server error", "type": "server_error"}}, 0.0
        if attempt == 1 and _share(fp, "timeout") < f.first_attempt_timeout:
            return 200, self._completion(body, "too late"), f.timeout_sleep_s
        text, finish = self.content(body, fp)
        return 200, self._completion(body, text, finish), 0.0

    def content(self, body: dict, fp: str) -> tuple[str, str]:
        prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        rng = random.Random(fp)
        fault = self.content_fault(fp)
        if fault:
            self.content_faults[fp] = fault
        marker = f"fault={fault} " if fault else ""
        if "[New response]" in prompt:
            wanted = int(m.group(1)) if (m := re.search(r"exactly (\d+) ", prompt)) else 4
            labelled = "[<strategy>]" in prompt
            lines = [f"{i + 1}. {'[' + rng.choice(STRATEGIES) + '] ' if labelled else ''}{marker}{_sentence(rng)}"
                     for i in range(wanted)]
            if fault == "duplicate" and wanted > 1:
                lines[1] = "2. " + lines[0][3:]
            return "Here are the responses:\n" + "\n".join(lines), "stop"
        scene_match = re.search(r"^Target scene: (.+)$", prompt, re.M)
        scene = scene_match.group(1).strip() if scene_match else "Others"
        if fault == "duplicate":
            rng = random.Random("the same dialogue every time")
        dialogue = fake_dialogue(rng, scene, self.turns, strategies="AI Strategy" in prompt, marker=marker)
        if fault == "wrong_roles":
            for turn in dialogue["Content"][1::2]:
                turn["Therapist"] = turn.pop("AI")
        text = json.dumps(dialogue, indent=1)
        if fault == "prose":
            return f"Sure! Here is the conversation you asked for.\n```json\n{text}\n```\nLet me know if you need more.", "stop"
        if fault == "truncated":
            return text[: len(text) // 2], "length"
        return text, "stop"

    @staticmethod
    def _completion(body: dict, text: str, finish: str = "stop") -> dict:
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
        return {"id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": body.get("model"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(text.split()),
                          "total_tokens": prompt_tokens + len(text.split())}}


class FakeServer(RoutedServer):
    """The HTTP side: ``with FakeServer(FakeTeacher(...), latency_s=0.1) as server: server.url``.

    ``received``/``answered`` count requests per fingerprint (answered = a 200 delivered to a
    client still waiting for it); ``kill_at = (n, pid)`` sends SIGKILL to ``pid`` when the
    n-th request arrives, before answering it.
    """

    def __init__(self, teacher: FakeTeacher | None = None, latency_s: float = 0.0, model: str = "teacher"):
        self.teacher = teacher or FakeTeacher()
        self.latency_s, self.model = latency_s, model
        self.received: Counter[str] = Counter()
        self.answered: Counter[str] = Counter()
        self.arrivals = 0
        self.kill_at: tuple[int, int] | None = None
        super().__init__()

    def route(self, request: Request) -> Answer:
        if request.method == "GET":
            return Answer(200, {"object": "list", "data": [{"id": self.model, "object": "model"}]})
        body = request.json()
        status, payload, delay, fp = self.handle(body)
        headers = {"retry-after-ms": str(self.teacher.faults.retry_after_ms)} if status == 429 else {}
        def after(delivered: bool) -> None:
            if delivered and status == 200 and delay == 0:  # a timed-out answer never reaches the client
                self.answered[fp] += 1

        return Answer(status, payload, headers, self.latency_s + delay, after)

    def handle(self, body: dict) -> tuple[int, dict, float, str]:
        fp = fingerprint(body)
        self.arrivals += 1
        arrival = self.arrivals
        self.received[fp] += 1
        attempt = self.received[fp]
        if self.kill_at and arrival >= self.kill_at[0]:
            os.kill(self.kill_at[1], signal.SIGKILL)
            self.kill_at = None
            return 503, {"error": {"message": "client killed"}}, 0.0, fp
        status, payload, delay = self.teacher.answer(body, attempt, arrival)
        return status, payload, delay, fp


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--model", default="teacher")
    options = parser.parse_args()
    with FakeServer(FakeTeacher(), latency_s=options.latency, model=options.model) as fake:
        print(fake.url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            sys.exit(0)
