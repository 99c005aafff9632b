"""A scripted OpenAI-compatible server on 127.0.0.1 for tests and fault injection.

Each POST to ``/v1/chat/completions`` is numbered (0, 1, ...) and answered by
``script(number, body)``, which returns a :class:`Reply`; the default script echoes the last
message. Every request body and header set is recorded, in-flight requests are counted, and
requests past ``max_requests`` are answered 599 and counted as ``overflow`` so a runaway
client fails the test instead of hanging it.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


@dataclass
class Reply:
    status: int = 200
    payload: dict | None = None  # None with status 200: an echo completion
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    content: str | None = None  # the message content of an echo completion


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


class ScriptedServer:
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
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.httpd.daemon_threads = True
        self.httpd.request_queue_size = 64
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    @property
    def requests(self) -> int:
        return len(self.bodies)

    def __enter__(self) -> "ScriptedServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(self, status: int, payload: dict, headers: dict | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                server.models_requests += 1
                if server.models is None or not self.path.endswith("/models"):
                    self._send(404, {"error": {"message": "no such route"}})
                else:
                    self._send(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in server.models]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                with server._lock:
                    number = len(server.bodies)
                    server.bodies.append(body)
                    server.headers.append(dict(self.headers))
                    if number >= server.max_requests:
                        server.overflow += 1
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    if number >= server.max_requests:
                        self._send(599, {"error": {"message": "test server: request budget exceeded"}})
                        return
                    reply = server.script(number, body)
                    if reply.delay_s:
                        time.sleep(reply.delay_s)
                    payload = reply.payload
                    if payload is None and reply.status == 200:
                        last = body["messages"][-1]["content"]
                        content = reply.content if reply.content is not None else f"echo: {last}"
                        payload = completion(body, [content] * int(body.get("n") or 1))
                    try:
                        self._send(reply.status, payload or {"error": {"message": f"scripted {reply.status}"}},
                                   reply.headers)
                    except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                        pass
                finally:
                    with server._lock:
                        server.in_flight -= 1

        return Handler
