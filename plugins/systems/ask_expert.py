"""The ``ask-expert`` system (Zhang et al., 2023a): an expert model advises, a responder replies.

Stage 1: the expert model gets the conversation as a transcript and pre-specified questions
that walk through a counsellor's reasoning: what the seeker feels, why, which support
strategy fits, and what to say (``tasks/prompts/ask_expert/expert_*.txt``). Stage 2: the
responder model gets the conversation as chat messages with the expert's answer in its
system prompt (``responder_system.txt``) and writes the reply.

Each stage has its own backend: ``openai`` (an OpenAI-compatible server: ``*_model``,
``*_base_url``, ``*_api_key_env``) or a local ``hf``/``vllm`` model (``*_model`` is a
folder, a ``.gguf`` file or ``smollm2``). ``responder_*`` settings default to the
expert's. The strategy the expert names (its ``Strategy:`` line) is recorded as the
predicted strategy; ``raw`` keeps the expert's answer and the responder's output.

An expert answer that used all ``advice_max_tokens`` tokens was cut there, so its last line is
incomplete: only the complete lines reach the responder and the strategy parser, and ``raw``
says how many lines were dropped.

With ``structured_advice`` (default) the expert request carries the JSON schema of its
answer (:mod:`.expert_advice`) as ``response_format`` (an ``hf`` expert decodes under its
grammar); the JSON is turned back into the four lines before the responder sees it.
"""
from __future__ import annotations

import inspect
import re
from dataclasses import replace
from typing import Any, Callable, Sequence

from escbench.harness.backends.choice import backend_identity, make_backend, unavailable
from escbench.harness.catalogs import StrategyCatalog, load_strategy_catalog
from escbench.harness.data import Example
from escbench.harness.errors import ConfigError, EscbenchError, UnknownStrategyError
from escbench.harness.prompts import PromptFile, example_to_messages
from escbench.harness.registry import Generation, GenerationSettings

from .expert_advice import advice_format, advice_lines

PROMPTS = "tasks/prompts/ask_expert"
SPEAKERS = {"user": "Seeker", "ai": "Supporter"}  # names in the expert's transcript
_STRATEGY_LINE = re.compile(r"^[\s*#>-]*strategy\s*\**\s*[:\-]\s*(.+)$", re.IGNORECASE | re.MULTILINE)


def dialogue_transcript(example: Example, max_context_turns: int | None = None) -> str:
    """``Seeker: ...`` / ``Supporter: ...`` lines for the example's context (blank turns skipped)."""
    turns = example.context
    if max_context_turns is not None:
        turns = turns[-max_context_turns:] if max_context_turns > 0 else ()
    return "\n".join(f"{SPEAKERS[t.role]}: {' '.join(t.text.split())}" for t in turns if t.text.strip())


def parse_advice_strategy(advice: str, catalog: StrategyCatalog) -> str | None:
    """The catalog strategy the expert names on its ``Strategy:`` line, or None.

    The line's value is tried as a whole (ignoring brackets, quotes and a trailing
    explanation after a comma, dash or period), then for the longest catalog name it contains.
    """
    match = _STRATEGY_LINE.search(advice or "")
    if match is None:
        return None
    value = match.group(1).strip().strip("*[]\"'` ")
    for candidate in (value, re.split(r"[,.;(]| - | because ", value, maxsplit=1)[0].strip("*[]\"'` ")):
        try:
            return catalog.normalize(candidate)
        except UnknownStrategyError:
            pass
    lowered = value.lower()
    found = [name for name in catalog.names if name.lower() in lowered]
    return max(found, key=len) if found else None


class AskExpertSystem:
    """Two-stage expert-advised responder (see module doc)."""

    name = "ask-expert"
    display_name = "Ask-Expert"
    paper_order = 2  # row of the paper's Tables 5 and 7
    description = "Ask-Expert (Zhang et al. 2023a): an expert LLM reasons about the seeker and advises a responder LLM"

    def __init__(
        self,
        expert_backend: str = "openai",
        expert_model: str = "gpt-3.5-turbo",
        expert_base_url: str | None = None,
        expert_api_key_env: str = "OPENAI_API_KEY",
        responder_backend: str | None = None,
        responder_model: str | None = None,
        responder_base_url: str | None = None,
        responder_api_key_env: str | None = None,
        expert_system_prompt: str = f"{PROMPTS}/expert_system.txt",
        expert_prompt: str = f"{PROMPTS}/expert_user.txt",
        responder_prompt: str = f"{PROMPTS}/responder_system.txt",
        catalog: str = "extes",
        advice_max_tokens: int = 128,
        max_context_turns: int | None = None,
        concurrency: int = 8,
        max_retries: int = 4,
        timeout: float = 300.0,
        dtype: str = "auto",
        device: str = "auto",
        structured_advice: bool = True,
    ):
        self.values = {
            "expert_backend": expert_backend, "expert_model": str(expert_model),
            "expert_base_url": expert_base_url, "expert_api_key_env": expert_api_key_env,
            "responder_backend": responder_backend or expert_backend,
            "responder_model": str(responder_model or expert_model),
            "responder_base_url": responder_base_url or expert_base_url,
            "responder_api_key_env": responder_api_key_env or expert_api_key_env,
        }
        if not isinstance(advice_max_tokens, int) or advice_max_tokens < 1:
            raise ConfigError(f"system {self.name!r}: advice_max_tokens={advice_max_tokens!r} must be a positive integer")
        self.advice_max_tokens = advice_max_tokens
        self.structured_advice = bool(structured_advice)
        self.max_context_turns = max_context_turns
        self.catalog_name = catalog
        shared = {"concurrency": concurrency, "max_retries": max_retries, "timeout": timeout, "dtype": dtype, "device": device}
        self.expert = self._backend("expert", shared)
        self.responder = self._backend("responder", shared)
        self.prompts = {
            "expert_system_prompt": PromptFile(self.name, "expert_system_prompt", expert_system_prompt),
            "expert_prompt": PromptFile(self.name, "expert_prompt", expert_prompt),
            "responder_prompt": PromptFile(self.name, "responder_prompt", responder_prompt),
        }

    def _backend(self, stage: str, shared: dict[str, Any]) -> Any:
        v = self.values
        try:
            return make_backend(v[f"{stage}_backend"], v[f"{stage}_model"], base_url=v[f"{stage}_base_url"],
                                api_key_env=v[f"{stage}_api_key_env"], **shared)
        except ConfigError as error:
            setting = getattr(error, "setting", None)
            where = f" setting {stage}_{setting}:" if setting else f" {stage} backend:"
            raise ConfigError(f"system {self.name!r}:{where} {getattr(error, 'problem', error)}") from None

    def catalog(self) -> StrategyCatalog:
        try:
            return load_strategy_catalog(self.catalog_name)
        except ConfigError as error:
            raise unavailable(self.name, error) from None

    def config(self) -> dict[str, Any]:
        """What identifies the outputs: both backends, every prompt file's hash, the catalog."""
        config: dict[str, Any] = {
            "system": self.name,
            "expert": backend_identity(self.values["expert_backend"], self.expert),
            "responder": backend_identity(self.values["responder_backend"], self.responder),
            "catalog": self.catalog().name, "advice_max_tokens": self.advice_max_tokens,
            "structured_advice": self.structured_advice,
            "max_context_turns": self.max_context_turns,
        }
        for setting, prompt in self.prompts.items():
            config[setting] = prompt.spec
            config[f"{setting}_sha256"] = prompt.sha256()
        return config

    def prepare(self) -> None:
        """Read the prompts and check (or load) both backends; SystemUnavailableError names
        the ``expert_*`` / ``responder_*`` setting to fix."""
        for prompt in self.prompts.values():
            prompt.text
        self.catalog()
        for stage, backend in (("expert", self.expert), ("responder", self.responder)):
            try:
                backend.load()
            except EscbenchError as error:
                raise unavailable(self.name, error, prefix=f"{stage}_", values=self.values,
                                  fallback_setting="model") from None

    def expert_messages(self, example: Example) -> list[dict[str, str]]:
        """Stage-1 messages: the expert's role, then the conversation and the four questions."""
        catalog = self.catalog()
        question = self.prompts["expert_prompt"].fill({
            "scene": example.scene or "", "description": example.description or "",
            "dialogue": dialogue_transcript(example, self.max_context_turns),
            "strategies": ", ".join(catalog.names),
        })
        system = self.prompts["expert_system_prompt"].text
        return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": question}]

    def _advice_format(self, count: int) -> dict[str, Any]:
        """The expert backend's keyword for the advice schema: ``response_format`` for an
        OpenAI-compatible server, ``schemas`` for a local model; none if off or unsupported."""
        if not self.structured_advice:
            return {}
        parameters = inspect.signature(self.expert.generate).parameters
        answer_format = advice_format(self.catalog())
        if "response_format" in parameters:
            return {"response_format": answer_format}
        if "schemas" in parameters:
            return {"schemas": [answer_format["json_schema"]["schema"]] * count}
        return {}

    def responder_messages(self, example: Example, advice: str) -> list[dict[str, str]]:
        """Stage-2 messages: system prompt carrying the advice, then the dialogue."""
        template = self.prompts["responder_prompt"].text.replace("{advice}", advice.strip() or "(none)")
        return example_to_messages(example, template, self.max_context_turns)

    def _cut(self, advice: Generation) -> bool:
        """The expert used every token it was allowed: its answer stopped at the limit."""
        return int(advice.usage.get("completion_tokens") or 0) >= self.advice_max_tokens

    def _complete_advice(self, advice: Generation) -> str:
        """The advice without the line the token limit cut (all of it when it was not cut)."""
        if not self._cut(advice):
            return advice.text
        return "\n".join(advice.text.splitlines()[:-1])

    def generate(self, examples: Sequence[Example], settings: GenerationSettings,
                 progress: Callable[[int], None] | None = None) -> list[Generation]:
        """Advice for every example, then replies; one Generation per example, in order."""
        advice_settings = replace(settings, max_new_tokens=self.advice_max_tokens)
        advice = self.expert.generate([self.expert_messages(e) for e in examples], advice_settings,
                                      **self._advice_format(len(examples)))
        for expert_out in advice:
            expert_out.text = advice_lines(expert_out.text)
        replies = self.responder.generate(
            [self.responder_messages(e, self._complete_advice(a)) for e, a in zip(examples, advice)], settings)
        catalog = self.catalog()
        generations = []
        for expert_out, reply in zip(advice, replies):
            usage = {key: int(expert_out.usage.get(key) or 0) + int(reply.usage.get(key) or 0)
                     for key in ("prompt_tokens", "completion_tokens")}
            dropped = "" if not self._cut(expert_out) else (
                f"[expert answer cut at advice_max_tokens={self.advice_max_tokens}: its last line was dropped]\n")
            generations.append(Generation(
                text=reply.text, predicted_strategy=parse_advice_strategy(self._complete_advice(expert_out), catalog),
                raw=f"[expert]\n{dropped}{expert_out.raw}\n[responder]\n{reply.raw}", usage=usage))
        if progress is not None:
            progress(len(generations))
        return generations
