"""Generation through an OpenAI-compatible chat-completions API (OpenAI, vLLM, llama.cpp
server, Ollama, ``escbench serve``) with the official ``openai`` client.

Conversations are lists of ``{"role", "content"}`` messages, as for
:class:`escbench.harness.backends.hf.HFBackend`, and :meth:`OpenAIBackend.generate` has the same
signature, so systems can take either. Requests run on ``concurrency`` asyncio workers
(:mod:`.pool`) that start spread over ``ramp_up_s``. This module retries 408/409/429/5xx
answers, timeouts and connection errors itself (the client's own retries are off, so every
attempt is counted in :attr:`OpenAIBackend.stats`): it waits what
``retry-after``/``retry-after-ms`` asks, else an exponential backoff with jitter. A request
waiting for its retry keeps its worker, so errors slow a run down rather than pile up. An HTTP
200 whose body is not a usable chat completion (cut or malformed JSON, an HTML page, an
``error`` object, no choices, a choice with no content and no refusal) is retried the same way.
Other 4xx answers are permanent: 401/403/404 raise :class:`BackendSettingError`, the rest
:class:`RequestRejected` (sending the request again would fail again). ``timeout`` bounds
each attempt end to end (connection, waiting and the whole body), and a failure names its
real cause (connection refused, DNS, reset, timeout).

The API key is read from the environment variable named by ``api_key_env`` when a request
is made; it is never stored in configs or results.

The SDK's HTTP layer is chosen by ``transport`` (default ``$ESCBENCH_HTTP_TRANSPORT``, else
``auto``): ``aiohttp`` is the SDK's aiohttp transport, which costs about a third less CPU per
request than ``httpx`` and so keeps up at high concurrency on small machines; ``auto`` takes
it when the SDK and aiohttp provide it and no proxy variable is set (that transport ignores
``HTTP(S)_PROXY``), else ``httpx``, the SDK's default.
"""
from __future__ import annotations

import asyncio
import json
import os
import random
import threading
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Sequence
from urllib.parse import urlparse

from ..errors import ConfigError, EscbenchError
from ..registry import Generation, GenerationSettings
from ..stops import trim_at_stops
from .failures import RequestRejected, UnusableAnswer, connection_failure
from .pool import run_pool

Message = dict[str, str]
OPENAI_BASE_URL = "https://api.openai.com/v1"
RETRYABLE_STATUS = frozenset({408, 409, 429})
KEYLESS_PLACEHOLDER = "not-needed"  # local servers ignore the key, but the client wants one
MAX_STOP_STRINGS = 4  # OpenAI rejects more
TRANSPORTS = ("auto", "aiohttp", "httpx")
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy")


class BackendSettingError(ConfigError):
    """A backend setting that must change; ``setting`` is the argument's name (``base_url``,
    ``model``, ``api_key_env``...) so a system can name its own prefixed argument."""

    def __init__(self, setting: str, problem: str):
        self.setting = setting
        self.problem = problem
        super().__init__(f"setting {setting}: {problem}")


@dataclass
class ChatResult:
    """One request's answer: ``choices`` are the raw message contents (``n`` of them; "" for a
    refused choice, whose reason is in ``refusals``). ``usage`` holds the server's counts, None
    for a count it sent that is not a number; ``{}`` when it sent none."""

    choices: list[str]
    usage: dict[str, int | None] = field(default_factory=dict)
    finish_reasons: list[str | None] = field(default_factory=list)
    attempts: int = 1
    refusals: list[str | None] = field(default_factory=list)


@dataclass
class RequestStats:
    """Counts over the backend's lifetime: HTTP requests sent, retries, tokens."""

    requests: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


def default_base_url() -> str:
    return os.environ.get("OPENAI_BASE_URL") or OPENAI_BASE_URL


def request_params(settings: GenerationSettings, n: int, stop: Sequence[str] | None) -> dict[str, Any]:
    """Chat-completions parameters for ``settings``: greedy decoding is temperature 0."""
    params: dict[str, Any] = {"max_tokens": settings.max_new_tokens, "n": n, "seed": settings.seed}
    if settings.do_sample:
        params.update(temperature=settings.temperature, top_p=settings.top_p)
    else:
        params.update(temperature=0.0, top_p=1.0)
    stops = [s for s in (stop or []) if s]
    if stops:
        params["stop"] = stops[:MAX_STOP_STRINGS]
    return params


def retry_after_seconds(headers: Any) -> float | None:
    """Seconds a ``retry-after-ms`` / ``retry-after`` header asks to wait (None if absent)."""
    if headers is None:
        return None
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) / divisor)
        except ValueError:
            pass
        try:
            import datetime as dt

            when = parsedate_to_datetime(value)
            return max(0.0, (when - dt.datetime.now(when.tzinfo)).total_seconds())
        except (TypeError, ValueError):
            return None
    return None


def run_coroutine(coroutine) -> Any:
    """Run ``coroutine`` to completion from sync code, also when an event loop is running
    in this thread (notebooks): then it runs on a helper thread with its own loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    box: dict[str, Any] = {}

    def target():
        try:
            box["value"] = asyncio.run(coroutine)
        except BaseException as error:  # re-raised in the caller's thread
            box["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


class OpenAIBackend:
    """Chat completions from an OpenAI-compatible server (see module doc).

    Construction only validates arguments (ConfigError names the bad one); :meth:`load`
    checks the server answers and serves ``model``; :meth:`generate` / :meth:`complete`
    send the requests. A request that still fails after ``max_retries`` retries raises
    EscbenchError naming ``base_url`` and what to change.
    """

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 8,
        max_retries: int = 4,
        timeout: float = 300.0,
        backoff_s: float = 0.5,
        max_backoff_s: float = 8.0,
        max_retry_after_s: float = 60.0,
        transport: str | None = None,
        ramp_up_s: float = 0.05,
    ):
        for setting, value, low in (("concurrency", concurrency, 1), ("max_retries", max_retries, 0)):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise BackendSettingError(setting, f"{value!r} must be an integer >= {low}")
        for setting, value in (("timeout", timeout), ("backoff_s", backoff_s),
                               ("max_backoff_s", max_backoff_s), ("max_retry_after_s", max_retry_after_s),
                               ("ramp_up_s", ramp_up_s)):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise BackendSettingError(setting, f"{value!r} must be a number >= 0")
        transport = transport or os.environ.get("ESCBENCH_HTTP_TRANSPORT") or "auto"
        if transport not in TRANSPORTS:
            raise BackendSettingError("transport", f"{transport!r} must be one of {', '.join(TRANSPORTS)}")
        if not model or not isinstance(model, str):
            raise BackendSettingError("model", f"{model!r} must name the served model")
        self.model = model
        self.base_url = (base_url or default_base_url()).rstrip("/")
        if urlparse(self.base_url).scheme not in ("http", "https"):
            raise BackendSettingError("base_url", f"{self.base_url!r} must start with http:// or https://")
        self.api_key_env = api_key_env
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.timeout = float(timeout)
        self.backoff_s = float(backoff_s)
        self.max_backoff_s = float(max_backoff_s)
        self.max_retry_after_s = float(max_retry_after_s)
        self.transport = transport
        self.ramp_up_s = float(ramp_up_s)
        self.stats = RequestStats()
        self._stats_lock = threading.Lock()
        self._checked = False

    # -- setup ----------------------------------------------------------------
    def api_key(self) -> str:
        """The key from ``$api_key_env``; a placeholder for servers other than OpenAI's."""
        key = os.environ.get(self.api_key_env, "")
        if key:
            return key
        if urlparse(self.base_url).hostname == urlparse(OPENAI_BASE_URL).hostname:
            raise BackendSettingError(
                "api_key_env", f"${self.api_key_env} is not set and base_url is {self.base_url}: "
                f"export the key in {self.api_key_env}, or point base_url at a local server")
        return KEYLESS_PLACEHOLDER

    def open_client(self, timeout: float | None = None):
        """An ``AsyncOpenAI`` client for this endpoint; it never retries on its own (the
        retries are :meth:`request_with_retries`'s), so use it with that method."""
        from openai import AsyncOpenAI

        return AsyncOpenAI(api_key=self.api_key(), base_url=self.base_url, max_retries=0,
                           timeout=self.timeout if timeout is None else timeout, http_client=self._http_client())

    def _http_client(self):
        """The HTTP client the SDK should use (see module doc); None: the SDK's default.

        For a plain ``http://`` base URL no certificate store is loaded (``verify=False``):
        there is no TLS to verify, and loading it costs ~20 ms per client."""
        options = {"verify": False} if urlparse(self.base_url).scheme == "http" else {}
        proxied = any(os.environ.get(name) for name in PROXY_VARIABLES)
        if self.transport == "aiohttp" or (self.transport == "auto" and not proxied):
            try:
                import aiohttp  # noqa: F401  (the SDK's class exists without it, and fails when used)
                from openai import DefaultAioHttpClient
            except ImportError:
                if self.transport == "aiohttp":
                    raise BackendSettingError(
                        "transport", "'aiohttp' needs the aiohttp package and an openai SDK that has "
                        "DefaultAioHttpClient (pip install -U 'openai[aiohttp]'), or use transport httpx") from None
            else:
                return DefaultAioHttpClient(**options)
        from openai import DefaultAsyncHttpxClient

        return DefaultAsyncHttpxClient(**options) if options else None

    def load(self) -> "OpenAIBackend":
        """Check the server answers and serves ``model`` (once); BackendSettingError names
        the setting to fix. Returns self (same shape as HFBackend.load)."""
        if not self._checked:
            run_coroutine(self._check())
            self._checked = True
        return self

    async def _check(self) -> None:
        import openai

        async with self.open_client(timeout=min(self.timeout, 10.0) or 10.0) as client:
            try:
                page = await client.models.list()
            except openai.NotFoundError:
                await self._probe(client)  # some servers have no /models listing
                return
            except openai.APIStatusError as error:
                if error.status_code in RETRYABLE_STATUS or error.status_code >= 500:
                    return  # reachable but busy: generation retries
                raise self._status_error(error) from None
            except openai.APIConnectionError as error:
                raise self._unreachable(error) from None
            served = [item.id for item in page.data]
        if served and self.model not in served:
            raise BackendSettingError(
                "model", f"{self.model!r} is not served at {self.base_url} (it serves: "
                f"{', '.join(served[:10])}): set model to one of these")

    async def _probe(self, client) -> None:
        """A 1-token completion, for servers without ``/models``."""
        import openai

        try:
            await client.chat.completions.create(
                model=self.model, messages=[{"role": "user", "content": "ping"}], max_tokens=1)
        except openai.APIStatusError as error:
            raise self._status_error(error) from None
        except openai.APIConnectionError as error:
            raise self._unreachable(error) from None

    def _unreachable(self, error: BaseException) -> BackendSettingError:
        return BackendSettingError(
            "base_url", f"cannot reach {self.base_url} ({type(error).__name__}: {error}): start "
            f"the server (e.g. `escbench serve`) or set base_url to where it listens")

    def _status_error(self, error: Any) -> EscbenchError:
        status = getattr(error, "status_code", None)
        detail = _error_message(error)
        if status in (401, 403):
            return BackendSettingError(
                "api_key_env", f"{self.base_url} refused the key from ${self.api_key_env} "
                f"(HTTP {status}: {detail}): set {self.api_key_env} to a valid key")
        if status == 404:
            return BackendSettingError(
                "model", f"{self.base_url} answered 404 for model {self.model!r} ({detail}): check "
                f"model, and that base_url ends with /v1")
        return RequestRejected(f"{self.base_url} rejected a request for model {self.model!r} "
                               f"(HTTP {status}: {detail})", status, detail)

    # -- generation -------------------------------------------------------------
    def generate(
        self,
        conversations: Sequence[Sequence[Message]],
        settings: GenerationSettings,
        stop: list[str] | None = None,
        progress: Callable[[int], None] | None = None,
        response_format: dict[str, Any] | None = None,
    ) -> list[Generation]:
        """One reply per conversation, in order: ``text`` trimmed at stops and stripped,
        ``raw`` as the server sent it, ``usage`` the request's token counts.
        ``response_format`` is sent with every request (structured outputs)."""
        results = self.complete(conversations, settings, n=1, stop=stop, progress=progress,
                                response_format=response_format)
        stops = [s for s in (stop or []) if s]
        return [
            Generation(text=trim_at_stops(result.choices[0], stops).strip(), raw=result.choices[0],
                       usage={name: count for name, count in result.usage.items() if count is not None})
            for result in results
        ]

    def complete(
        self,
        conversations: Sequence[Sequence[Message]],
        settings: GenerationSettings,
        n: int = 1,
        stop: list[str] | None = None,
        progress: Callable[[int], None] | None = None,
        response_format: dict[str, Any] | None = None,
    ) -> list[ChatResult]:
        """``n`` choices per conversation, one request each, in order (``progress(done)``
        after every finished request)."""
        if not conversations:
            return []
        self.api_key()  # a missing key fails before anything is sent
        params = request_params(settings, n, stop)
        if response_format:
            params["response_format"] = response_format
        return run_coroutine(self._complete_all([list(c) for c in conversations], params, progress))

    async def _complete_all(self, conversations, params, progress) -> list[ChatResult]:
        semaphore = asyncio.Semaphore(self.concurrency)
        results: list[ChatResult | None] = [None] * len(conversations)
        done = 0

        async with self.open_client() as client:
            async def one(index: int) -> None:
                nonlocal done
                results[index] = await self.request_with_retries(client, semaphore, conversations[index], params)
                done += 1
                if progress is not None:
                    progress(done)

            # A dialogue's requests in turn order, dialogues interleaved: server-side prefix
            # caches then hold each request's context when it arrives.
            from .prefix_sharing import prefix_cache_order

            await run_pool(prefix_cache_order(conversations), one, self.concurrency, self.ramp_up_s)
        return results  # type: ignore[return-value]  (run_pool filled every index or raised)

    async def request_with_retries(self, client, semaphore, messages, params) -> ChatResult:
        """One chat completion, retried on 429/5xx/timeouts/connection errors (honouring
        ``retry-after``) up to ``max_retries``; ``semaphore`` is any async context manager
        that admits the request (a concurrency cap, or a rate-limit slot)."""
        import openai

        # The body goes through client.post as plain JSON and the answer comes back as text:
        # chat.completions.create would walk every message through the SDK's typed-dict
        # transform and build a pydantic model of the answer, which together cost more CPU
        # per request than everything else here at high concurrency.
        body = {"model": self.model, "messages": list(messages), **params}
        attempt = 0
        while True:
            async with semaphore:
                self._count(requests=1)
                try:
                    call = client.post("/chat/completions", body=body, cast_to=str)
                    response = await (asyncio.wait_for(call, self.timeout) if self.timeout > 0 else call)
                    return self._result(response, attempt + 1)
                except openai.APIStatusError as error:
                    status = error.status_code
                    if status not in RETRYABLE_STATUS and status < 500:
                        raise self._status_error(error) from None
                    last = f"HTTP {status}: {_error_message(error)}"
                    wait = retry_after_seconds(getattr(error.response, "headers", None))
                except openai.APIConnectionError as error:  # includes APITimeoutError
                    last, wait = connection_failure(error, self.timeout), None
                except TimeoutError:  # asyncio.wait_for: the whole attempt took longer than timeout
                    last, wait = f"timed out: no complete answer within timeout={self.timeout:g} s", None
                except UnusableAnswer as error:
                    last, wait = str(error), None
                except openai.APIError as error:  # e.g. a body the SDK cannot read
                    last, wait = f"unusable answer ({type(error).__name__}: {error})", None
            if attempt >= self.max_retries:
                raise EscbenchError(
                    f"{self.base_url}: a request for model {self.model!r} failed {attempt + 1} "
                    f"time(s), last with {last}: check the server, or raise max_retries/timeout")
            wait = min(wait, self.max_retry_after_s) if wait is not None else self._backoff(attempt)
            attempt += 1
            self._count(retries=1)
            await asyncio.sleep(wait)

    def _backoff(self, attempt: int) -> float:
        return min(self.max_backoff_s, self.backoff_s * 2 ** attempt) * random.uniform(0.5, 1.0)

    def _result(self, text: str, attempts: int) -> ChatResult:
        """The ChatResult in a chat-completions JSON body; UnusableAnswer (quoting the body) if
        it is not one, or a choice has neither content nor a refusal."""
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        choices = data.get("choices") if isinstance(data, dict) else None
        if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices) or not choices:
            what = "no choices" if isinstance(choices, list) else "not a chat completion"
            raise UnusableAnswer(f"unusable answer ({what}): {text[:300]!r}")
        choices = sorted(choices, key=lambda choice: choice.get("index") or 0)
        contents, refusals = [], []
        for choice in choices:
            content, refusal = _message_content(choice)
            if content is None and refusal is None:
                raise UnusableAnswer(f"unusable answer (a choice without content): {text[:300]!r}")
            contents.append(content or "")
            refusals.append(refusal)
        usage: dict[str, int | None] = {}
        if isinstance(data.get("usage"), dict):
            usage = {name: _token_count(data["usage"].get(name)) for name in ("prompt_tokens", "completion_tokens")}
            self._count(**{name: count for name, count in usage.items() if count is not None})
        return ChatResult(choices=contents, usage=usage, finish_reasons=[choice.get("finish_reason") for choice in choices],
                          attempts=attempts, refusals=refusals)

    def _count(self, **increments: int) -> None:
        with self._stats_lock:
            for name, value in increments.items():
                setattr(self.stats, name, getattr(self.stats, name) + value)


def _token_count(value: Any) -> int | None:
    """A usage count as the server sent it; None when it is not a number (unknown, not 0)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


def _message_content(choice: dict) -> tuple[str | None, str | None]:
    """(content, refusal) of a choice: the refusal text, or ``content_filter`` when the server
    filtered the answer; both None when the choice has no usable content."""
    message = choice.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    refusal = message.get("refusal") if isinstance(message, dict) else None
    if isinstance(refusal, str) and refusal.strip():
        return (content if isinstance(content, str) else None), refusal
    if choice.get("finish_reason") == "content_filter" and not (isinstance(content, str) and content):
        return None, "content_filter"
    return (content if isinstance(content, str) else None), None


def _error_message(error: Any) -> str:
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return str(getattr(error, "message", "") or error)
