"""The ``llama`` system: a LLaMA-family instruct model prompted with the dialogue context.

This is the paper's vanilla-LLaMA baseline made runnable offline: by default the embedded
SmolLM2-135M-Instruct (a llama-architecture model) answers from a short emotional-support
system prompt (``tasks/prompts/llama/system.txt``). Pass ``model=`` a local folder or GGUF
file for a bigger model, and ``adapter=`` a PEFT folder to evaluate a fine-tuned student.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

from escbench.harness.backends.hf import HFBackend
from escbench.harness.data import Example
from escbench.harness.errors import ConfigError, EscbenchError, SystemUnavailableError
from escbench.harness.models import describe_model, file_sha256
from escbench.harness.paths import resolve_project_path
from escbench.harness.prompts import example_to_messages, read_prompt_template
from escbench.harness.registry import Generation, GenerationSettings

DEFAULT_SYSTEM_PROMPT = "tasks/prompts/llama/system.txt"
ADAPTER_WEIGHT_FILES = ("adapter_model.safetensors", "adapter_model.bin")


class LlamaSystem:
    """Vanilla instruct model with the dialogue so far as chat messages (see module doc)."""

    name = "llama"
    display_name = "LLaMA"
    paper_order = 3  # row of the paper's Tables 5 and 7
    description = "Vanilla LLaMA-family instruct model prompted with the dialogue context"

    def __init__(
        self,
        model: str = "smollm2",
        system_prompt: str = DEFAULT_SYSTEM_PROMPT,
        dtype: str = "auto",
        load_8bit: bool = False,
        adapter: str | None = None,
        max_context_turns: int | None = None,
        device: str = "auto",
        share_prefix: bool = True,
    ):
        if max_context_turns is not None and (
            not isinstance(max_context_turns, int) or max_context_turns < 1
        ):
            raise ConfigError(
                f"system 'llama': max_context_turns={max_context_turns!r} must be a positive integer"
            )
        self.model = str(model)
        self.system_prompt_path = resolve_project_path(system_prompt)
        self.system_prompt_spec = str(system_prompt)
        self.adapter = adapter
        self.max_context_turns = max_context_turns
        try:
            self.backend = HFBackend(
                model=self.model, dtype=dtype, device=device, load_8bit=load_8bit, adapter=adapter,
                share_prefix=share_prefix,
            )
        except ConfigError as error:
            raise ConfigError(f"system 'llama': {error}") from None
        self._template: str | None = None

    def _unavailable(self, setting: str, error: BaseException) -> SystemUnavailableError:
        return SystemUnavailableError(self.name, f"setting {setting}: {error}")

    def template(self) -> str:
        """The system prompt template (comment lines removed), read once."""
        if self._template is None:
            try:
                self._template = read_prompt_template(self.system_prompt_path)
            except OSError as error:
                raise self._unavailable(
                    f"system_prompt={self.system_prompt_spec!r}",
                    f"cannot read prompt template {self.system_prompt_path} ({error.strerror or error})",
                ) from None
        return self._template

    def config(self) -> dict[str, Any]:
        """What identifies this system's outputs (no model is loaded or converted)."""
        try:
            identity = describe_model(self.model)
        except ConfigError as error:
            raise self._unavailable(f"model={self.model!r}", error) from None
        self.template()
        device, dtype = self.backend.device_and_dtype()
        return {
            "system": self.name,
            "model": self.model,
            "model_path": identity["path"],
            "model_sha256": identity["sha256"],
            "dtype": dtype,
            "device_type": device.split(":")[0],
            "load_8bit": self.backend.load_8bit,
            "adapter": str(Path(self.adapter).expanduser().resolve()) if self.adapter else None,
            "adapter_sha256": self._adapter_sha256(),
            "system_prompt": self.system_prompt_spec,
            "system_prompt_sha256": file_sha256(self.system_prompt_path),
            "max_context_turns": self.max_context_turns,
        }

    def _adapter_sha256(self) -> str | None:
        if not self.adapter:
            return None
        folder = Path(self.adapter).expanduser()
        weights = next((folder / n for n in ADAPTER_WEIGHT_FILES if (folder / n).is_file()), None)
        return file_sha256(weights) if weights else None

    def prepare(self) -> None:
        """Read the prompt and load the model; SystemUnavailableError names the setting to fix."""
        self.template()
        try:
            self.backend.load()
        except EscbenchError as error:
            setting = f"model={self.model!r}"
            if self.adapter and "adapter" in str(error):
                setting = f"adapter={self.adapter!r}"
            raise self._unavailable(setting, error) from None

    def generate(
        self,
        examples: Sequence[Example],
        settings: GenerationSettings,
        progress: Callable[[int], None] | None = None,
    ) -> list[Generation]:
        """One stripped reply per example, in order; ``progress(n)`` after each batch."""
        self.prepare()
        conversations = [
            example_to_messages(example, self.template(), self.max_context_turns)
            for example in examples
        ]
        return self.backend.generate(conversations, settings, progress=progress)

    def chat(self, conversations: list[list[dict]], settings: GenerationSettings, stop: list[str] | None = None):
        """Reply to whole chat conversations as given (``escbench serve`` uses this so a
        caller's own system message is kept); one output per conversation."""
        self.prepare()
        return self.backend.generate(conversations, settings, stop=stop)
