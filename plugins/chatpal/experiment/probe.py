"""Before a dry run or a real run with ``teacher.endpoint: url``: does the server answer
``GET {teacher.url}/models``, and does it serve ``teacher.model``?

Both failures are ConfigErrors that name the experiment file and the field to fix
(``teacher.url`` for a server that does not answer or does not speak the OpenAI API,
``teacher.model`` for a name the server does not list). Nothing is sent to the chat endpoint.
Any HTTP error (a 401 for a missing key, a 404 from a server without the route) is refused.
"""
from __future__ import annotations

import json
import os
from typing import Any

from escbench.harness.errors import ConfigError

PROBE_TIMEOUT_S = 10.0


def served_models(url: str, api_key: str | None = None, timeout: float = PROBE_TIMEOUT_S) -> list[str]:
    """Model ids listed at ``{url}/models``; OSError or ValueError when the server does not
    answer, answers an HTTP error, or answers something that is not a model list."""
    import urllib.error
    import urllib.request

    headers = {"Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    request = urllib.request.Request(url.rstrip("/") + "/models", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the user's own URL
            payload = json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as error:
        raise OSError(f"HTTP {error.code} {error.reason}") from None
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list) or not all(isinstance(m, dict) and isinstance(m.get("id"), str) for m in data):
        raise ValueError("the answer is not an OpenAI model list ({\"data\": [{\"id\": ...}]})")
    return [m["id"] for m in data]


def check_teacher_url(experiment: Any) -> list[str] | None:
    """For ``endpoint: url`` teachers: the served model ids, after checking that the endpoint
    answers and serves ``teacher.model``; None for other endpoints. ConfigError names the
    experiment file and the field (see module doc)."""
    teacher = experiment.teacher
    if teacher.get("endpoint") != "url":
        return None
    url, model = str(teacher["url"]), str(teacher.get("model", "teacher"))
    key_env = teacher.get("api_key_env") or "OPENAI_API_KEY"
    timeout = float(teacher.get("timeout") or PROBE_TIMEOUT_S)
    try:
        models = served_models(url, os.environ.get(str(key_env)), min(timeout, PROBE_TIMEOUT_S))
    except (OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or error
        raise ConfigError(f"{experiment.path}: teacher.url: {url} does not answer GET {url.rstrip('/')}/models "
                          f"({reason}); start the server or fix the URL (the base URL, ending in /v1)") from None
    if model not in models:
        listed = ", ".join(repr(m) for m in models[:10]) or "none"
        raise ConfigError(f"{experiment.path}: teacher.model: {model!r} is not served by {url} (it serves {listed}); "
                          f"set teacher.model to one of them")
    return models
