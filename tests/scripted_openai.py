"""A scripted OpenAI-compatible server on 127.0.0.1 for tests and fault injection.

Each POST to ``/v1/chat/completions`` is numbered (0, 1, ...) and answered by
``script(number, body)``, which returns a :class:`Reply`; the default script echoes the last
message. Every request body and header set is recorded, in-flight requests are counted, and
requests past ``max_requests`` are answered 599 and counted as ``overflow`` so a runaway
client fails the test instead of hanging it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from local_http import Answer, Request, RoutedServer


@dataclass
class Reply:
    status: int = 200
    payload: dict | None = None  # None with status 200: an echo completion
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    content: str | None = None  # the message content of an echo completion
    raw: bytes | None = None  # a body sent as is (see local_http.Answer)
    trickle_s: float = 0.0
    reset: bool = False


def completion(body: dict, content: str | list[str], prompt_tokens: int = 7, completion_tokens: int = 3) -> dict:
    """A chat-completions payload with one choice per content string."""
    contents = [content] if isinstance(content, str) else content
    return {
        "id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": body.get("model", "m"),
        "choices": [{"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                    for i, text in enumerate(contents)],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens * len(contents),
                  "total_tokens": prompt_tokens + completion_tokens * len(contents)},
    }


def echo(number: int, body: dict) -> Reply:
    return Reply()


class ScriptedServer(RoutedServer):
    """``with ScriptedServer(script) as server: server.url`` (see module doc)."""

    def __init__(self, script: Callable[[int, dict], Reply] = echo, models: tuple[str, ...] | None = ("m",),
                 max_requests: int = 200):
        """``models`` is what ``GET /v1/models`` lists; None: that route answers 404."""
        self.script = script
        self.models = models
        self.max_requests = max_requests
        self.bodies: list[dict] = []
        self.headers: list[dict] = []
        self.overflow = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.models_requests = 0
        super().__init__()

    @property
    def requests(self) -> int:
        return len(self.bodies)

    def route(self, request: Request) -> Answer:
        if request.method == "GET":
            self.models_requests += 1
            if self.models is None or not request.path.endswith("/models"):
                return Answer(404, {"error": {"message": "no such route"}})
            return Answer(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in self.models]})
        body = request.json()
        number = len(self.bodies)
        self.bodies.append(body)
        self.headers.append(dict(request.headers))
        if number >= self.max_requests:
            self.overflow += 1
            return Answer(599, {"error": {"message": "test server: request budget exceeded"}})
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        reply = self.script(number, body)
        payload = reply.payload
        if payload is None and reply.status == 200:
            last = body["messages"][-1]["content"]
            content = reply.content if reply.content is not None else f"echo: {last}"
            payload = completion(body, [content] * int(body.get("n") or 1))
        return Answer(reply.status, payload or {"error": {"message": f"scripted {reply.status}"}},
                      reply.headers, reply.delay_s, after=self._finished, raw=reply.raw,
                      trickle_s=reply.trickle_s, reset=reply.reset)

    def _finished(self, delivered: bool) -> None:
        self.in_flight -= 1
