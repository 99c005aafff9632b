"""The ``chatgpt`` system: a chat model behind an OpenAI-compatible API with an
emotional-support system prompt (``tasks/prompts/chatgpt/system.txt``).

The paper's ChatGPT baseline. Any OpenAI-compatible server works: OpenAI itself (key in
``$OPENAI_API_KEY``), vLLM, llama.cpp, Ollama, or ``escbench serve`` running the embedded
SmolLM2 for offline runs, e.g.
``--system-args chatgpt:base_url=http://127.0.0.1:8011/v1,model=llama``.

The runner hands a system ``--batch-size`` examples at a time, so at most
``min(concurrency, batch_size)`` requests are in flight: raise both for remote APIs.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from escbench.harness.backends.choice import unavailable
from escbench.harness.backends.openai import OpenAIBackend
from escbench.harness.data import Example
from escbench.harness.errors import ConfigError, EscbenchError
from escbench.harness.prompts import PromptFile, example_to_messages
from escbench.harness.registry import Generation, GenerationSettings

DEFAULT_MODEL = "gpt-3.5-turbo"
DEFAULT_SYSTEM_PROMPT = "tasks/prompts/chatgpt/system.txt"


class ChatGPTSystem:
    """OpenAI-compatible chat model answering the dialogue so far (see module doc)."""

    name = "chatgpt"
    display_name = "ChatGPT"
    paper_order = 1  # row of the paper's Tables 5 and 7
    description = "Chat model behind an OpenAI-compatible API (ChatGPT, vLLM, Ollama, escbench serve) with an ES prompt"

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        system_prompt: str = DEFAULT_SYSTEM_PROMPT,
        concurrency: int = 8,
        max_retries: int = 4,
        timeout: float = 300.0,
        max_context_turns: int | None = None,
    ):
        try:
            self.backend = OpenAIBackend(model=str(model), base_url=base_url, api_key_env=api_key_env,
                                         concurrency=concurrency, max_retries=max_retries, timeout=timeout)
        except ConfigError as error:
            raise ConfigError(f"system {self.name!r}: {error}") from None
        self.prompt = PromptFile(self.name, "system_prompt", system_prompt)
        self.max_context_turns = max_context_turns

    def _settings(self) -> dict[str, Any]:
        return {"model": self.backend.model, "base_url": self.backend.base_url, "api_key_env": self.backend.api_key_env}

    def config(self) -> dict[str, Any]:
        """What identifies the outputs; concurrency and retries do not change them."""
        return {
            "system": self.name, "model": self.backend.model, "base_url": self.backend.base_url,
            "system_prompt": self.prompt.spec, "system_prompt_sha256": self.prompt.sha256(),
            "max_context_turns": self.max_context_turns,
        }

    def prepare(self) -> None:
        """Read the prompt and check the server serves the model (SystemUnavailableError otherwise)."""
        self.prompt.text
        try:
            self.backend.load()
        except EscbenchError as error:
            raise unavailable(self.name, error, values=self._settings()) from None

    def generate(self, examples: Sequence[Example], settings: GenerationSettings,
                 progress: Callable[[int], None] | None = None) -> list[Generation]:
        """One reply per example, in order (requests run concurrently)."""
        conversations = [example_to_messages(e, self.prompt.text, self.max_context_turns) for e in examples]
        return self.backend.generate(conversations, settings, progress=progress)

    def chat(self, conversations: Sequence[Sequence[dict[str, str]]], settings: GenerationSettings,
             stop: list[str] | None = None) -> list[Generation]:
        """Pass chat messages through unchanged (``escbench serve --system chatgpt`` is a proxy)."""
        return self.backend.generate(conversations, settings, stop=stop)
