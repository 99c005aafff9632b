"""An OpenAI-compatible HTTP endpoint on localhost for an escbench system or a local model.

Routes: ``POST /v1/chat/completions``, ``GET /v1/models``, ``GET /health``. Answers follow
the chat-completions schema (``choices``, ``usage``, ``finish_reason``) so the ``openai``
client, lm-eval's ``local-chat-completions`` and other tools can call it; each choice also
carries ``escbench: {predicted_strategy, raw}``. Errors are ``{"error": {message, type,
param}}`` with status 400 (bad request), 404 (unknown model or route) or 500 (generation
failed). Streaming is not offered.

Requests that arrive together are answered in one batch (:class:`MicroBatcher`): a single
worker thread owns the model, so concurrent clients get batched generation instead of
contending for it. What a request's fields mean: ``temperature`` 0 is greedy decoding,
``max_tokens`` (or ``max_completion_tokens``) bounds the reply, ``n`` asks for several
choices, ``seed`` and ``stop`` as in the OpenAI API. ``response_format`` (``json_schema`` or
``json_object``) is honoured by grammar-constrained decoding when the responder accepts
schemas (a served model: :mod:`escbench.harness.backends.constrained`); a served system answers it
with 400.

A served *system* sees each request as an :class:`~escbench.harness.data.Example` whose context is
the request's user/assistant messages; the request's system messages are dropped because
the system brings its own prompt. A system with a ``chat(conversations, settings, stop)``
method (and a served *model*) gets the messages unchanged instead.
"""
from __future__ import annotations

import inspect
import json
import queue
import sys
import threading
import time
import uuid
from concurrent.futures import Future
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Sequence

from .data import Example, Turn
from .errors import ConfigError
from .registry import Generation, GenerationSettings
from .stops import trim_at_stops
from .strict_json import dumps_strict
from .structured import schema_from_response_format, schema_text

Message = dict[str, str]
Responder = Callable[[list[list[Message]], GenerationSettings, list[str]], list[Generation]]
MAX_BODY_BYTES = 8 << 20
MAX_N = 16
ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}


class RequestError(Exception):
    """A request the server answers with an HTTP error (never leaves this module)."""

    def __init__(self, status: int, message: str, param: str | None = None):
        super().__init__(message)
        self.status, self.message, self.param = status, message, param


@dataclass(frozen=True)
class ChatRequest:
    """A validated chat-completions request."""

    messages: tuple[tuple[str, str], ...]  # (role, content), roles system|user|assistant
    settings: GenerationSettings
    n: int = 1
    stop: tuple[str, ...] = ()
    schema: str | None = None  # the response_format's JSON schema as JSON text (key order kept)

    def conversation(self) -> list[Message]:
        return [{"role": role, "content": content} for role, content in self.messages]


def _content_text(content: Any, position: int) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: keep the text ones
        texts = [p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"]
        if len(texts) == len(content):
            return "".join(texts)
    raise RequestError(400, f"messages[{position}].content must be a string or text parts", "messages")


def _number(body: dict, name: str, default: float, low: float, high: float | None = None) -> float:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low or (high is not None and value > high):
        bounds = f">= {low}" + (f" and <= {high}" if high is not None else "")
        raise RequestError(400, f"{name}={value!r} must be a number {bounds}", name)
    return value


def _integer(body: dict, name: str, default: int, low: int, high: int | None = None) -> int:
    value = _number(body, name, default, low, high)
    if not isinstance(value, int):
        raise RequestError(400, f"{name}={value!r} must be an integer", name)
    return value


def parse_chat_request(body: Any, served_name: str, default_max_tokens: int = 64) -> ChatRequest:
    """Validate a request body; RequestError (400/404) names the field at fault."""
    if not isinstance(body, dict):
        raise RequestError(400, "the body must be a JSON object")
    model = body.get("model")
    if model is not None and model != served_name:
        raise RequestError(404, f"model {model!r} is not served here; this server serves {served_name!r}", "model")
    if body.get("stream"):
        raise RequestError(400, "stream=true is not supported by escbench serve: send stream=false", "stream")
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise RequestError(400, "messages must be a non-empty list", "messages")
    messages = []
    for position, message in enumerate(raw_messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ROLES:
            raise RequestError(400, f"messages[{position}].role={role!r} must be one of {', '.join(ROLES)}", "messages")
        messages.append((ROLES[role], _content_text(message.get("content"), position)))
    stop = body.get("stop") or []
    stop = [stop] if isinstance(stop, str) else stop
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
        raise RequestError(400, "stop must be a string or a list of strings", "stop")
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    temperature = _number(body, "temperature", 1.0, 0.0, 2.0)
    settings = GenerationSettings(
        do_sample=temperature > 0,
        temperature=float(temperature) if temperature > 0 else 1.0,
        top_p=float(_number(body, "top_p", 1.0, 0.0, 1.0)) or 1.0,
        max_new_tokens=_integer({"max_tokens": max_tokens}, "max_tokens", default_max_tokens, 1),
        seed=_integer(body, "seed", 0, 0),
    )
    try:
        schema = schema_from_response_format(body.get("response_format"))
    except ValueError as error:
        raise RequestError(400, str(error), "response_format") from None
    return ChatRequest(tuple(messages), settings, _integer(body, "n", 1, 1, MAX_N), tuple(s for s in stop if s),
                       schema_text(schema) if schema is not None else None)


def conversation_to_example(conversation: Sequence[Message], request_id: str) -> Example:
    """An Example whose context is the conversation's user/assistant turns (system dropped)."""
    turns = tuple(
        Turn(role="user" if m["role"] == "user" else "ai", text=m["content"])
        for m in conversation if m["role"] in ("user", "assistant")
    )
    return Example(dialogue_id=f"request-{request_id}", turn_index=len(turns), context=turns, reference="")


def system_responder(system: Any) -> Responder:
    """Answer with ``system.chat`` when it has one, else ``system.generate`` on Examples."""
    chat = getattr(system, "chat", None)
    if callable(chat):
        return lambda conversations, settings, stop: chat(conversations, settings, stop=stop)

    def respond(conversations, settings, stop):
        examples = [conversation_to_example(c, f"{uuid.uuid4().hex[:8]}-{i}") for i, c in enumerate(conversations)]
        generations = system.generate(examples, settings)
        for generation in generations:
            trimmed = trim_at_stops(generation.text, stop)
            if trimmed != generation.text:
                generation.text = trimmed.strip()
        return generations

    return respond


def backend_responder(backend: Any) -> Responder:
    """Answer with a backend's ``generate(conversations, settings, stop)`` (messages as sent);
    with ``schemas=`` (one per conversation) when the backend's ``generate`` takes them."""
    def respond(conversations, settings, stop, schemas=None):
        if schemas is None:
            return backend.generate(conversations, settings, stop=stop)
        return backend.generate(conversations, settings, stop=stop, schemas=schemas)

    respond.accepts_schemas = "schemas" in inspect.signature(backend.generate).parameters
    return respond


def accepts_schemas(responder: Responder) -> bool:
    """Whether ``responder`` takes ``schemas=`` (set by :func:`backend_responder`)."""
    return bool(getattr(responder, "accepts_schemas", False))


@dataclass
class _Pending:
    request: ChatRequest
    future: Future


class MicroBatcher:
    """Runs ``responder`` on one worker thread; requests queued within ``wait_s`` of each
    other (up to ``max_batch`` conversations) with equal settings and stops share a call."""

    def __init__(self, responder: Responder, max_batch: int = 8, wait_s: float = 0.01):
        self.responder = responder
        self.max_batch = max(1, int(max_batch))
        self.wait_s = max(0.0, float(wait_s))
        self.calls = 0  # responder calls made, for tests and logs
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._worker = threading.Thread(target=self._work, name="escbench-serve-worker", daemon=True)
        self._worker.start()

    def submit(self, request: ChatRequest) -> list[Generation]:
        """``request.n`` generations for the request (blocks; re-raises the responder's error)."""
        future: Future = Future()
        self._queue.put(_Pending(request, future))
        return future.result()

    def close(self) -> None:
        self._queue.put(None)
        self._worker.join(timeout=5)

    def _work(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, size, stopping = [first], first.request.n, False
            deadline = time.monotonic() + self.wait_s
            while size < self.max_batch:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                batch.append(item)
                size += item.request.n
            self._answer(batch)
            if stopping:
                return

    def _answer(self, batch: list[_Pending]) -> None:
        groups: dict[tuple, list[_Pending]] = {}
        for item in batch:
            groups.setdefault((item.request.settings, item.request.stop), []).append(item)
        for (settings, stop), items in groups.items():
            conversations = [item.request.conversation() for item in items for _ in range(item.request.n)]
            schemas = [item.request.schema for item in items for _ in range(item.request.n)]
            extra = {"schemas": schemas} if any(schemas) else {}
            try:
                self.calls += 1
                generations = self.responder(conversations, replace(settings, batch_size=self.max_batch), list(stop),
                                             **extra)
                if len(generations) != len(conversations):
                    raise RuntimeError(f"responder returned {len(generations)} replies for {len(conversations)} requests")
            except BaseException as error:  # handed to every waiting request
                for item in items:
                    item.future.set_exception(error)
                continue
            start = 0
            for item in items:
                item.future.set_result(generations[start:start + item.request.n])
                start += item.request.n


def completion_body(served_name: str, request: ChatRequest, generations: list[Generation]) -> dict:
    """The chat-completions answer for ``generations`` (one per choice)."""
    choices, completion_tokens = [], 0
    for index, generation in enumerate(generations):
        used = int(generation.usage.get("completion_tokens", 0))
        completion_tokens += used
        choices.append({
            "index": index,
            "message": {"role": "assistant", "content": generation.text},
            "finish_reason": "length" if used >= request.settings.max_new_tokens else "stop",
            "escbench": {"predicted_strategy": generation.predicted_strategy, "raw": generation.raw},
        })
    prompt_tokens = int(generations[0].usage.get("prompt_tokens", 0)) if generations else 0
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
        "model": served_name, "choices": choices,
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections
    disable_nagle_algorithm = True  # headers and body are two writes: avoid the delayed-ACK stall
    server: "_HTTPServer"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        if path in ("/v1/models", "/models"):
            self._send(200, {"object": "list", "data": [
                {"id": self.server.served_name, "object": "model", "created": self.server.started, "owned_by": "escbench"}]})
        elif path == "/health":
            self._send(200, {"status": "ok", "model": self.server.served_name})
        else:
            self._error(RequestError(404, f"no route GET {path}: use /v1/models or /health"))

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        try:
            body = self._read_json()
            if path not in ("/v1/chat/completions", "/chat/completions"):
                raise RequestError(404, f"no route POST {path}: use /v1/chat/completions")
            request = parse_chat_request(body, self.server.served_name, self.server.default_max_tokens)
            if request.schema is not None and not accepts_schemas(self.server.batcher.responder):
                raise RequestError(400, f"response_format with a JSON schema is not supported for "
                                   f"{self.server.served_name!r} (a served system): serve a model with --model, "
                                   f"or send the request without response_format (teacher: --no-structured)",
                                   "response_format")
        except RequestError as error:
            self._error(error)
            return
        try:
            generations = self.server.batcher.submit(request)
        except ConfigError as error:  # e.g. a schema but no xgrammar: the request cannot be served here
            self._error(RequestError(400, str(error), "response_format" if request.schema else None))
            return
        except Exception as error:
            self._error(RequestError(500, f"generation failed: {type(error).__name__}: {error}"))
            return
        self._send(200, completion_body(self.server.served_name, request, generations))

    def _read_json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise RequestError(413, f"body of {length} bytes is over the {MAX_BODY_BYTES} byte limit")
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw or b"null")
        except ValueError as error:
            raise RequestError(400, f"the body is not JSON: {error}") from None

    def _error(self, error: RequestError) -> None:
        kind = {404: "not_found_error", 500: "server_error"}.get(error.status, "invalid_request_error")
        self._send(error.status, {"error": {"message": error.message, "type": kind, "param": error.param, "code": None}})

    def _send(self, status: int, payload: dict) -> None:
        data = dumps_strict(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            sys.stderr.write(f"escbench serve: {self.address_string()} {format % args}\n")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


class ChatServer:
    """The endpoint: ``with ChatServer(responder, "llama").start() as server: server.url``.

    ``port=0`` picks a free port (see :attr:`port`). ConfigError if the address is taken.
    """

    def __init__(self, responder: Responder, served_name: str, host: str = "127.0.0.1", port: int = 0,
                 max_batch: int = 8, batch_wait_s: float = 0.01, default_max_tokens: int = 64,
                 verbose: bool = False):
        self.batcher = MicroBatcher(responder, max_batch=max_batch, wait_s=batch_wait_s)
        try:
            self.httpd = _HTTPServer((host, port), _Handler)
        except OSError as error:
            self.batcher.close()
            raise ConfigError(f"cannot listen on {host}:{port} ({error.strerror or error}): choose another --port") from None
        self.httpd.batcher = self.batcher
        self.httpd.served_name = served_name
        self.httpd.default_max_tokens = int(default_max_tokens)
        self.httpd.verbose = verbose
        self.httpd.started = int(time.time())
        self.host = host
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        """Base URL for OpenAI clients (ends with ``/v1``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

    def start(self) -> "ChatServer":
        """Serve on a background thread; returns self."""
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="escbench-serve", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve on this thread until :meth:`close` (or KeyboardInterrupt)."""
        self.httpd.serve_forever()

    def close(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=5)
        self.httpd.server_close()
        self.batcher.close()

    def __enter__(self) -> "ChatServer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
