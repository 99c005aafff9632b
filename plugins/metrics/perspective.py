"""A small client for Google's Perspective API (comments:analyze), rate-limited and cached.

The API key travels only in the ``x-goog-api-key`` request header: never in the URL, a
cache key, a message or an exception. Requests are spaced by ``1/qps`` seconds; HTTP 429,
5xx and network errors are retried with exponential back-off (or the server's
``Retry-After``); answers are cached on disk (SQLite, keyed by text, attributes and
languages) so a re-run sends nothing.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Sequence

from escbench.harness.errors import MetricUnavailableError

DEFAULT_BASE_URL = "https://commentanalyzer.googleapis.com"
ANALYZE_PATH = "/v1alpha1/comments:analyze"
KEY_VARIABLE = "PERSPECTIVE_API_KEY"


class PerspectiveCache:
    """text + request settings -> attribute scores, in one SQLite file."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path))
        self._db.execute("CREATE TABLE IF NOT EXISTS scores (key TEXT PRIMARY KEY, value TEXT)")

    @staticmethod
    def key(text: str, attributes: Sequence[str], languages: Sequence[str]) -> str:
        payload = json.dumps([text, sorted(attributes), list(languages)], ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def get(self, key: str) -> dict[str, float] | None:
        row = self._db.execute("SELECT value FROM scores WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key: str, scores: dict[str, float]) -> None:
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO scores VALUES (?, ?)", (key, json.dumps(scores)))


class PerspectiveClient:
    """Scores texts on the requested attributes (summary probabilities, 0..1).

    :meth:`score` returns None for a text the API refuses (HTTP 400, e.g. an unsupported
    language) and raises MetricUnavailableError when the key is refused or retries run out.
    """

    def __init__(self, api_key: str, attributes: Sequence[str], base_url: str = DEFAULT_BASE_URL,
                 languages: Sequence[str] = ("en",), qps: float = 1.0, max_retries: int = 5,
                 backoff: float = 1.0, timeout: float = 30.0, cache: PerspectiveCache | None = None,
                 metric: str = "toxicity", sleep: Callable[[float], None] = time.sleep):
        if qps <= 0:
            raise MetricUnavailableError(metric, f"qps must be positive (got {qps})")
        self._key = api_key
        self.attributes, self.languages = list(attributes), list(languages)
        self.url = base_url.rstrip("/") + ANALYZE_PATH
        self.interval, self.max_retries, self.backoff = 1.0 / qps, int(max_retries), float(backoff)
        self.timeout, self.cache, self.metric, self._sleep = timeout, cache, metric, sleep
        self._last_request = float("-inf")
        self.requests_sent = 0
        self.refused: list[tuple[str, str]] = []

    def score(self, text: str) -> dict[str, float] | None:
        cache_key = PerspectiveCache.key(text, self.attributes, self.languages)
        if self.cache is not None:
            cached = self.cache.get(cache_key)
            if cached is not None:
                return cached
        answer = self._request(text)
        if answer is None:
            return None
        try:
            scores = {name: float(answer["attributeScores"][name]["summaryScore"]["value"])
                      for name in self.attributes}
        except (KeyError, TypeError, ValueError):
            raise MetricUnavailableError(self.metric, f"unexpected Perspective answer from "
                                                      f"{self.url}: {str(answer)[:200]}") from None
        if self.cache is not None:
            self.cache.put(cache_key, scores)
        return scores

    def _request(self, text: str) -> dict | None:
        body = json.dumps({"comment": {"text": text}, "languages": self.languages,
                           "requestedAttributes": {name: {} for name in self.attributes},
                           "doNotStore": True}).encode("utf-8")
        last_problem = ""
        for attempt in range(self.max_retries + 1):
            self._wait_turn()
            request = urllib.request.Request(
                self.url, data=body, method="POST",
                headers={"Content-Type": "application/json", "x-goog-api-key": self._key})
            self.requests_sent += 1
            retry_after = None
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return json.loads(response.read().decode("utf-8"))
            except urllib.error.HTTPError as error:
                detail = self._redact(error.read().decode("utf-8", "replace")[:300])
                if error.code == 400:
                    self.refused.append((text, detail))
                    return None
                if error.code in (401, 403):
                    raise MetricUnavailableError(
                        self.metric, f"Perspective refused the key in ${KEY_VARIABLE} "
                                     f"(HTTP {error.code}): check the key and that the Comment "
                                     f"Analyzer API is enabled for its project") from None
                if error.code != 429 and error.code < 500:
                    raise MetricUnavailableError(
                        self.metric, f"Perspective answered HTTP {error.code}: {detail}") from None
                last_problem = f"HTTP {error.code}"
                retry_after = error.headers.get("Retry-After") if error.headers else None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
                reason = getattr(error, "reason", error)
                last_problem = self._redact(f"network error ({reason})")
            except json.JSONDecodeError:
                last_problem = "an answer that is not JSON"
            if attempt < self.max_retries:
                self._sleep(self._delay(attempt, retry_after))
        raise MetricUnavailableError(
            self.metric, f"Perspective at {self.url} kept failing: {last_problem} after "
                         f"{self.max_retries + 1} tries (lower qps=, raise max_retries=)")

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(120.0, max(0.0, float(retry_after)))
            except ValueError:
                pass
        return min(60.0, self.backoff * 2 ** attempt)

    def _wait_turn(self) -> None:
        wait = self._last_request + self.interval - time.monotonic()
        if wait > 0:
            self._sleep(wait)
        self._last_request = time.monotonic()

    def _redact(self, message: str) -> str:
        return message.replace(self._key, "***") if self._key else message
