"""Generation through an OpenAI-compatible chat-completions API (OpenAI, vLLM, llama.cpp
server, Ollama, ``escbench serve``) with the official ``openai`` client.

Conversations are lists of ``{"role", "content"}`` messages, as for
:class:`harness.backends.hf.HFBackend`, and :meth:`OpenAIBackend.generate` has the same
signature, so systems can take either. Requests run concurrently (asyncio, at most
``concurrency`` in flight). This module retries 408/409/429/5xx answers, timeouts and
connection errors itself (the client's own retries are off, so every attempt is counted in
:attr:`OpenAIBackend.stats`): it waits what ``retry-after``/``retry-after-ms`` asks, else
an exponential backoff with jitter, and sleeps outside the concurrency limit.

The API key is read from the environment variable named by ``api_key_env`` when a request
is made; it is never stored in configs or results.
"""
from __future__ import annotations

import asyncio
import os
import random
import threading
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Sequence
from urllib.parse import urlparse

from ..errors import ConfigError, EscbenchError
from ..registry import Generation, GenerationSettings

Message = dict[str, str]
OPENAI_BASE_URL = "https://api.openai.com/v1"
RETRYABLE_STATUS = frozenset({408, 409, 429})
KEYLESS_PLACEHOLDER = "not-needed"  # local servers ignore the key, but the client wants one
MAX_STOP_STRINGS = 4  # OpenAI rejects more


class BackendSettingError(ConfigError):
    """A backend setting that must change; ``setting`` is the argument's name (``base_url``,
    ``model``, ``api_key_env``...) so a system can name its own prefixed argument."""

    def __init__(self, setting: str, problem: str):
        self.setting = setting
        self.problem = problem
        super().__init__(f"setting {setting}: {problem}")


@dataclass
class ChatResult:
    """One request's answer: ``choices`` are the raw message contents (``n`` of them)."""

    choices: list[str]
    usage: dict[str, int] = field(default_factory=dict)
    finish_reasons: list[str | None] = field(default_factory=list)
    attempts: int = 1


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


def trim_at_stops(text: str, stops: Sequence[str]) -> str:
    """``text`` up to the earliest stop string (servers that ignore ``stop`` still get cut)."""
    cut = min((pos for s in stops if s and (pos := text.find(s)) >= 0), default=len(text))
    return text[:cut]


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
        timeout: float = 60.0,
        backoff_s: float = 0.5,
        max_backoff_s: float = 8.0,
        max_retry_after_s: float = 60.0,
    ):
        for setting, value, low in (("concurrency", concurrency, 1), ("max_retries", max_retries, 0)):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise BackendSettingError(setting, f"{value!r} must be an integer >= {low}")
        for setting, value in (("timeout", timeout), ("backoff_s", backoff_s),
                               ("max_backoff_s", max_backoff_s), ("max_retry_after_s", max_retry_after_s)):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise BackendSettingError(setting, f"{value!r} must be a number >= 0")
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
                           timeout=self.timeout if timeout is None else timeout)

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
        return EscbenchError(f"{self.base_url} rejected a request for model {self.model!r} "
                             f"(HTTP {status}: {detail})")

    # -- generation -------------------------------------------------------------
    def generate(
        self,
        conversations: Sequence[Sequence[Message]],
        settings: GenerationSettings,
        stop: list[str] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> list[Generation]:
        """One reply per conversation, in order: ``text`` trimmed at stops and stripped,
        ``raw`` as the server sent it, ``usage`` the request's token counts."""
        results = self.complete(conversations, settings, n=1, stop=stop, progress=progress)
        stops = [s for s in (stop or []) if s]
        return [
            Generation(text=trim_at_stops(result.choices[0], stops).strip(), raw=result.choices[0],
                       usage=dict(result.usage))
            for result in results
        ]

    def complete(
        self,
        conversations: Sequence[Sequence[Message]],
        settings: GenerationSettings,
        n: int = 1,
        stop: list[str] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> list[ChatResult]:
        """``n`` choices per conversation, one request each, in order (``progress(done)``
        after every finished request)."""
        if not conversations:
            return []
        self.api_key()  # a missing key fails before anything is sent
        params = request_params(settings, n, stop)
        return run_coroutine(self._complete_all([list(c) for c in conversations], params, progress))

    async def _complete_all(self, conversations, params, progress) -> list[ChatResult]:
        semaphore = asyncio.Semaphore(self.concurrency)
        done = 0

        async with self.open_client() as client:
            async def one(messages):
                nonlocal done
                result = await self.request_with_retries(client, semaphore, messages, params)
                done += 1
                if progress is not None:
                    progress(done)
                return result

            tasks = [asyncio.ensure_future(one(messages)) for messages in conversations]
            try:
                return list(await asyncio.gather(*tasks))
            except BaseException:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise

    async def request_with_retries(self, client, semaphore, messages, params) -> ChatResult:
        """One chat completion, retried on 429/5xx/timeouts/connection errors (honouring
        ``retry-after``) up to ``max_retries``; ``semaphore`` is any async context manager
        that admits the request (a concurrency cap, or a rate-limit slot)."""
        import openai
        from openai.types.chat import ChatCompletion

        # The body goes through client.post as plain JSON: chat.completions.create would
        # first walk every message through the SDK's typed-dict transform, which costs
        # more CPU per request than everything else here at high concurrency.
        body = {"model": self.model, "messages": list(messages), **params}
        attempt = 0
        while True:
            async with semaphore:
                self._count(requests=1)
                try:
                    response = await client.post("/chat/completions", body=body, cast_to=ChatCompletion)
                    return self._result(response, attempt + 1)
                except openai.APIStatusError as error:
                    status = error.status_code
                    if status not in RETRYABLE_STATUS and status < 500:
                        raise self._status_error(error) from None
                    last = f"HTTP {status}: {_error_message(error)}"
                    wait = retry_after_seconds(getattr(error.response, "headers", None))
                except openai.APIConnectionError as error:  # includes APITimeoutError
                    last, wait = f"{type(error).__name__}: {error}", None
                except openai.APIError as error:  # e.g. a body that is not a chat completion
                    raise EscbenchError(
                        f"{self.base_url}: unusable answer for model {self.model!r} "
                        f"({type(error).__name__}: {error})") from None
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

    def _result(self, response: Any, attempts: int) -> ChatResult:
        choices = sorted(response.choices or [], key=lambda choice: choice.index)
        usage = {}
        if getattr(response, "usage", None) is not None:
            usage = {"prompt_tokens": int(response.usage.prompt_tokens or 0),
                     "completion_tokens": int(response.usage.completion_tokens or 0)}
            self._count(prompt_tokens=usage["prompt_tokens"], completion_tokens=usage["completion_tokens"])
        if not choices:
            raise EscbenchError(f"{self.base_url} answered with no choices for model {self.model!r}")
        return ChatResult(
            choices=[(choice.message.content or "") if choice.message else "" for choice in choices],
            usage=usage, finish_reasons=[choice.finish_reason for choice in choices], attempts=attempts)

    def _count(self, **increments: int) -> None:
        with self._stats_lock:
            for name, value in increments.items():
                setattr(self.stats, name, getattr(self.stats, name) + value)


def _error_message(error: Any) -> str:
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return str(getattr(error, "message", "") or error)
