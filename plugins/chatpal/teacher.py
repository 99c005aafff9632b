"""The teacher client: many chat requests to an OpenAI-compatible server, journaled and resumable.

:class:`Teacher` sends :class:`TeacherRequest` objects through
:class:`escbench.harness.backends.openai.OpenAIBackend` (whose retry loop handles 429/5xx, timeouts and
connection errors with backoff and jitter) under three limits: ``concurrency`` requests in
flight (one per worker of :mod:`escbench.harness.backends.pool`, started over the backend's
``ramp_up_s``), requests per minute and tokens per minute (:mod:`.ratelimit`). Each completed
request is appended to the :class:`~.journal.Journal` before anything else happens, keyed by the hash
of (model, messages, params, sample); a request already in the journal is answered from it
and never sent. Every reply carries the server's ``finish_reasons`` (``length``: cut at
``max_tokens``; callers never keep such a text as it is).

Failures are classified (``TeacherReply.failure``): ``request_failed`` (transient errors until
the retries ran out: not journaled, sent again by the next run), ``request_rejected`` (the
server refused the request for good, e.g. HTTP 400: journaled once and not sent again unless
``retry_failed``, which also re-sends answers the model refused) and ``not_sent`` (the run
stopped before sending it because a setting is wrong, e.g. a 401 mid-run:
:attr:`Teacher.stopped` holds that error; answers already received are kept). Usage and an estimated cost are summed in :attr:`Teacher.usage`.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from escbench.harness.backends.openai import (BackendSettingError, OpenAIBackend, RequestRejected, request_params,
                                     run_coroutine)
from escbench.harness.backends.pool import run_pool
from escbench.harness.errors import ConfigError, EscbenchError
from escbench.harness.registry import GenerationSettings

from .journal import Journal, request_key
from .pricing import PriceTable, Usage
from .ratelimit import RateLimiter, RequestSlot, TokenWindow

CHARS_PER_TOKEN = 4  # rough estimate for the TPM budget before the server reports usage
TOKENS_PER_MESSAGE = 4


@dataclass(frozen=True)
class TeacherSettings:
    """Decoding settings for every teacher request. Each request's ``seed`` is derived from
    ``seed`` and its sample id, so repeated samples of one prompt differ on seeded servers."""

    temperature: float = 0.7
    top_p: float = 1.0
    max_tokens: int = 2048
    seed: int = 0


@dataclass
class TeacherRequest:
    """One prompt. ``sample`` tells apart repeated requests with equal messages (any JSON value);
    ``tag`` is recorded in the journal for people (scene, dialogue id...) but is not hashed.
    ``response_format`` (see :mod:`.schemas`) is sent when the teacher is ``structured``."""

    messages: list[dict[str, str]]
    sample: Any = 0
    tag: dict[str, Any] = field(default_factory=dict)
    response_format: dict[str, Any] | None = None


@dataclass
class TeacherReply:
    """The answer to one request: raw ``choices``, ``usage`` and ``finish_reasons``;
    ``refusals`` (per choice, None when the model answered); ``from_journal`` when it was not
    sent in this run; ``error`` (and no choices) when it failed, with ``failure`` its reason
    code (see the module doc)."""

    key: str
    choices: list[str] = field(default_factory=list)
    usage: dict[str, int | None] = field(default_factory=dict)
    finish_reasons: list[str | None] = field(default_factory=list)
    from_journal: bool = False
    error: str | None = None
    failure: str | None = None
    refusals: list[str | None] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.choices[0] if self.choices else ""

    @property
    def finish_reason(self) -> str | None:
        return self.finish_reasons[0] if self.finish_reasons else None

    @property
    def refusal(self) -> str | None:
        """The first choice's refusal (the model declined, or the server filtered the answer)."""
        return self.refusals[0] if self.refusals else None

    @property
    def truncated(self) -> bool:
        """True when the server stopped the first choice at ``max_tokens``."""
        return bool(self.finish_reasons) and self.finish_reasons[0] == "length"


Parser = Callable[[TeacherRequest, TeacherReply], Any]


def _sample_seed(base: int, sample: Any) -> int:
    digest = hashlib.sha256(json.dumps(sample, sort_keys=True).encode("utf-8")).digest()
    return (base + int.from_bytes(digest[:4], "big")) % (2 ** 31)


def estimated_tokens(messages: Sequence[dict[str, str]], max_tokens: int) -> int:
    """Tokens a request may use, for the TPM budget: prompt characters / 4 plus ``max_tokens``."""
    prompt = sum(len(m.get("content", "")) for m in messages) // CHARS_PER_TOKEN
    return prompt + TOKENS_PER_MESSAGE * len(messages) + max_tokens


class Teacher:
    """See the module doc. ``rpm``/``tpm`` None means unlimited; ``task`` names the pipeline
    step in journal records. Construction sends nothing; :meth:`run` does."""

    def __init__(self, backend: OpenAIBackend, journal: Journal, settings: TeacherSettings = TeacherSettings(),
                 rpm: float | None = None, tpm: float | None = None, prices: PriceTable | None = None,
                 task: str = "teacher", retry_failed: bool = False, tpm_window_s: float = 60.0,
                 structured: bool = True):
        for name, value in (("rpm", rpm), ("tpm", tpm)):
            if value is not None and value <= 0:
                raise ConfigError(f"teacher setting --{name} must be > 0, got {value!r}")
        self.backend, self.journal, self.settings = backend, journal, settings
        self.rpm, self.tpm, self.task = rpm, tpm, task
        self.retry_failed, self.tpm_window_s = retry_failed, tpm_window_s
        self.structured = structured  # send each request's response_format (--no-structured: prompt only)
        self.prices = prices or PriceTable({})
        self.usage = Usage()
        self.stopped: BackendSettingError | None = None
        self._checked = False

    @property
    def model(self) -> str:
        return self.backend.model

    def params_for(self, request: TeacherRequest) -> dict[str, Any]:
        settings = GenerationSettings(do_sample=self.settings.temperature > 0, temperature=self.settings.temperature,
                                      top_p=self.settings.top_p, max_new_tokens=self.settings.max_tokens,
                                      seed=_sample_seed(self.settings.seed, request.sample))
        params = request_params(settings, n=1, stop=None)
        if self.structured and request.response_format:
            params["response_format"] = request.response_format
        return params

    def key_for(self, request: TeacherRequest) -> str:
        return request_key(self.model, request.messages, self.params_for(request), request.sample)

    def pending(self, requests: Sequence[TeacherRequest]) -> list[TeacherRequest]:
        """The requests a run would send (not in the journal), each key once, in order."""
        seen: set[str] = set()
        out = []
        for request in requests:
            key = self.key_for(request)
            if not self._answered(key) and key not in seen:
                seen.add(key)
                out.append(request)
        return out

    def _answered(self, key: str) -> bool:
        """In the journal, as an answer or (unless ``retry_failed``) as a permanent failure: a
        request the server refused, or an answer the model refused."""
        record = self.journal.get(key)
        return record is not None and not (self.retry_failed and _permanent_failure(record))

    def run(self, requests: Sequence[TeacherRequest], parse: Parser | None = None,
            progress: Callable[[int, int], None] | None = None) -> list[TeacherReply]:
        """One reply per request, in order. ``parse(request, reply)`` (a JSON-able summary) is
        stored in the journal next to the response. Raises BackendSettingError (bad URL, key,
        model) before sending; other failures become replies with ``error`` and ``failure`` set
        (a wrong setting found mid-run also sets :attr:`stopped`)."""
        keys = [self.key_for(request) for request in requests]
        replies: dict[str, TeacherReply] = {}
        todo: dict[str, TeacherRequest] = {}
        for key, request in zip(keys, requests):
            record = self.journal.get(key)
            if self.stopped is not None and not self._answered(key):
                replies[key] = _not_sent(key, self.stopped)
            elif self._answered(key):
                replies[key] = _reply_from_record(record)
            elif key not in todo:
                todo[key] = request
        self.usage.from_journal += sum(1 for reply in replies.values() if reply.from_journal)
        if todo:
            self._check()
            sent_before, retries_before = self.backend.stats.requests, self.backend.stats.retries
            try:
                run_coroutine(self._send_all(todo, replies, parse, progress))
            finally:
                self.usage.requests_sent += self.backend.stats.requests - sent_before
                self.usage.retries += self.backend.stats.retries - retries_before
        self.usage.price(self.prices, self.model)
        return [replies[key] for key in keys]

    def _check(self) -> None:
        if not self._checked:
            self.backend.load()
            self._checked = True

    async def _send_all(self, todo: dict[str, TeacherRequest], replies: dict[str, TeacherReply],
                        parse: Parser | None, progress: Callable[[int, int], None] | None) -> None:
        semaphore = asyncio.Semaphore(self.backend.concurrency)
        rpm = RateLimiter(self.rpm) if self.rpm else None
        tpm = TokenWindow(self.tpm, self.tpm_window_s) if self.tpm else None
        total, done = len(todo), 0

        async with self.backend.open_client() as client:
            async def one(key: str, request: TeacherRequest) -> None:
                nonlocal done
                if self.stopped is not None:
                    replies[key] = _not_sent(key, self.stopped)
                    self.usage.failed += 1
                    return
                params = self.params_for(request)
                budget = estimated_tokens(request.messages, self.settings.max_tokens)
                started = time.time()
                slot = RequestSlot(semaphore, rpm, tpm, budget)
                try:
                    # The backend's retry loop; RequestSlot applies our limits to every attempt.
                    result = await self.backend.request_with_retries(client, slot, request.messages, params)
                except BackendSettingError as error:  # e.g. the key revoked mid-run: stop sending
                    self.stopped = self.stopped or error
                    replies[key] = _not_sent(key, error)
                    self.usage.failed += 1
                except RequestRejected as error:
                    if "response_format" in params and _rejects_response_format(error):
                        raise StructuredOutputRejected(self.backend.base_url, error) from None
                    reply = TeacherReply(key, error=str(error), failure="request_rejected")
                    self._journal_failure(key, request, params, reply, error)
                    replies[key] = reply
                    self.usage.failed += 1
                except Exception as error:  # noqa: BLE001 - one failed request must not stop the run
                    if "response_format" in params and _rejects_response_format(error):
                        raise StructuredOutputRejected(self.backend.base_url, error) from None
                    detail = str(error) if isinstance(error, EscbenchError) else f"{type(error).__name__}: {error}"
                    replies[key] = TeacherReply(key, error=detail, failure="request_failed")
                    self.usage.failed += 1
                else:
                    if isinstance(tpm, TokenWindow) and slot.grant is not None and _known(result.usage):
                        tpm.settle(slot.grant, sum(result.usage.values()))
                    reply = TeacherReply(key, list(result.choices), dict(result.usage), list(result.finish_reasons),
                                         refusals=list(result.refusals))
                    self._journal(key, request, params, reply, parse, time.time() - started, result.attempts)
                    replies[key] = reply
                done += 1
                if progress is not None:
                    progress(done, total)

            await run_pool(todo.items(), lambda item: one(*item), self.backend.concurrency, self.backend.ramp_up_s)

    def _journal(self, key: str, request: TeacherRequest, params: dict, reply: TeacherReply,
                 parse: Parser | None, elapsed_s: float, attempts: int) -> None:
        """Append the completed request (synchronously: before the loop sends anything else)."""
        self.usage.completed += 1
        self.usage.add_tokens(reply.usage)
        self.journal.append({
            "key": key, "task": self.task, "model": self.model, "messages": request.messages,
            "params": params, "sample": request.sample, "tag": request.tag,
            "response": {"choices": reply.choices, "usage": reply.usage, "finish_reasons": reply.finish_reasons,
                         "refusals": reply.refusals, "attempts": attempts},
            "parsed": _safe_parse(parse, request, reply),
            "elapsed_s": round(elapsed_s, 3), "finished_at": round(time.time(), 3),
        })


    def _journal_failure(self, key: str, request: TeacherRequest, params: dict, reply: TeacherReply,
                         error: RequestRejected) -> None:
        """Record a permanent refusal once, so re-runs do not pay for it again."""
        self.journal.append({
            "key": key, "task": self.task, "model": self.model, "messages": request.messages,
            "params": params, "sample": request.sample, "tag": request.tag,
            "failure": {"reason": reply.failure, "status": error.status, "detail": reply.error},
            "finished_at": round(time.time(), 3),
        })


def _permanent_failure(record: dict) -> bool:
    refusals = (record.get("response") or {}).get("refusals") or []
    return "failure" in record or any(refusal is not None for refusal in refusals)


def _known(usage: dict) -> bool:
    return bool(usage) and all(isinstance(count, int) for count in usage.values())


def _not_sent(key: str, error: BackendSettingError) -> TeacherReply:
    return TeacherReply(key, error=f"not sent: the run stopped ({error})", failure="not_sent")


class StructuredOutputRejected(ConfigError):
    """The server refused ``response_format``: the run stops (every request would fail)."""

    def __init__(self, base_url: str, error: BaseException):
        super().__init__(f"the teacher at {base_url} rejects structured outputs (response_format json_schema): "
                         f"{error}. Run again with --no-structured to ask for the format in the prompt only")


def _rejects_response_format(error: BaseException) -> bool:
    """True for an HTTP 400 whose message is about response_format / json_schema."""
    message = str(error).lower()
    return "http 400" in message and any(word in message for word in ("response_format", "json_schema", "structured"))


def _safe_parse(parse: Parser | None, request: TeacherRequest, reply: TeacherReply) -> Any:
    """The parser's summary; a parser bug must not cost the journal record (the raw answer)."""
    if parse is None:
        return None
    try:
        return parse(request, reply)
    except Exception as error:  # noqa: BLE001
        return {"parser_error": f"{type(error).__name__}: {error}"}


def _reply_from_record(record: dict) -> TeacherReply:
    failure = record.get("failure")
    if failure is not None:
        return TeacherReply(record["key"], from_journal=True, failure=failure.get("reason") or "request_rejected",
                            error=f"{failure.get('detail')} (recorded in the journal by an earlier run; "
                                  "--retry-failed sends it again)")
    response = record.get("response") or {}
    return TeacherReply(record["key"], list(response.get("choices") or []), dict(response.get("usage") or {}),
                        list(response.get("finish_reasons") or []), from_journal=True,
                        refusals=list(response.get("refusals") or []))


def journal_usage(journal: Journal, prices: PriceTable, model: str) -> Usage:
    """Tokens and cost of every completed request in the journal (all runs together)."""
    total = Usage()
    for record in journal:
        if record.get("model") == model and "failure" not in record:
            total.completed += 1
            total.add_tokens((record.get("response") or {}).get("usage") or {})
    total.price(prices, model)
    return total
