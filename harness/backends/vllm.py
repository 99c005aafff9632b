"""Optional local generation with vLLM (GPU runs): same interface as HFBackend.

``vllm`` is imported only in :meth:`VLLMBackend.load`; without it the error says how to
install it or which backend to use instead. Prompts are rendered exactly as HFBackend renders
them (chat template, else the ``Role: text`` transcript), so a system gives the same prompt
to either backend. A PEFT LoRA adapter is applied per request through vLLM's LoRA support.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import ConfigError, EscbenchError
from ..models import resolve_model
from ..registry import Generation, GenerationSettings
from ..stops import trim_at_stops
from .hf import TRANSCRIPT_STOPS, render_prompt
from .openai import BackendSettingError

Message = dict[str, str]
VLLM_DTYPES = ("auto", "float32", "bfloat16", "float16")


class VLLMBackend:
    """Generation with a vLLM engine on a local model folder (optionally with a LoRA adapter).

    Construction validates arguments only; :meth:`load` imports vllm and starts the engine,
    raising ConfigError that names the setting to fix.
    """

    def __init__(
        self,
        model: str = "smollm2",
        adapter: str | None = None,
        dtype: str = "auto",
        gpu_memory_utilization: float = 0.85,
        max_model_len: int | None = None,
        max_lora_rank: int = 16,
        trust_remote_code: bool = False,
    ):
        if dtype not in VLLM_DTYPES:
            raise ConfigError(f"dtype={dtype!r} is not supported by the vllm backend: use {', '.join(VLLM_DTYPES)}")
        if not 0 < float(gpu_memory_utilization) <= 1:
            raise ConfigError(f"gpu_memory_utilization={gpu_memory_utilization!r} must be in (0, 1]")
        self.model_spec = str(model)
        self.adapter = adapter
        self.dtype = dtype
        self.gpu_memory_utilization = float(gpu_memory_utilization)
        self.max_model_len = max_model_len
        self.max_lora_rank = int(max_lora_rank)
        self.trust_remote_code = bool(trust_remote_code)
        self.engine: Any = None
        self.tokenizer: Any = None
        self._lora: Any = None

    def load(self) -> "VLLMBackend":
        """Import vllm and build the engine (once); returns self."""
        if self.engine is not None:
            return self
        try:
            import vllm
        except ImportError as error:
            raise BackendSettingError(
                "backend", f"'vllm' needs the vllm package, which cannot be imported here ({error}): "
                f"`pip install vllm` on a machine with a CUDA GPU, or use backend='hf'") from None
        path = resolve_model(self.model_spec)
        options: dict[str, Any] = {
            "model": str(path), "dtype": self.dtype, "trust_remote_code": self.trust_remote_code,
            "gpu_memory_utilization": self.gpu_memory_utilization,
            # A dialogue's examples share their context: compute it once (prefix_sharing.py).
            "enable_prefix_caching": True,
        }
        if self.max_model_len:
            options["max_model_len"] = int(self.max_model_len)
        if self.adapter:
            adapter_path = Path(self.adapter).expanduser()
            if not (adapter_path / "adapter_config.json").is_file():
                raise ConfigError(f"adapter {self.adapter!r} is not a PEFT adapter folder (no adapter_config.json)")
            from vllm.lora.request import LoRARequest

            options.update(enable_lora=True, max_lora_rank=self.max_lora_rank)
            self._lora = LoRARequest("adapter", 1, str(adapter_path.resolve()))
        try:
            self.engine = vllm.LLM(**options)
        except Exception as error:  # vllm raises many types for unsupported models or GPUs
            raise ConfigError(f"vllm could not start model {path} ({type(error).__name__}: {error})") from None
        self.tokenizer = self.engine.get_tokenizer()
        return self

    def render(self, conversation: Sequence[Message]) -> str:
        return render_prompt(conversation, self.tokenizer)

    def generate(
        self,
        conversations: Sequence[Sequence[Message]],
        settings: GenerationSettings,
        stop: list[str] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> list[Generation]:
        """One reply per conversation, in order (vLLM schedules its own batches)."""
        from vllm import SamplingParams

        self.load()
        stops = [s for s in (stop or []) if s]
        if not getattr(self.tokenizer, "chat_template", None):
            stops += [s for s in TRANSCRIPT_STOPS if s not in stops]
        sampling = SamplingParams(
            n=1, max_tokens=settings.max_new_tokens, seed=settings.seed, stop=stops or None,
            temperature=settings.temperature if settings.do_sample else 0.0,
            top_p=settings.top_p if settings.do_sample else 1.0,
        )
        prompts = [self.render(conversation) for conversation in conversations]
        try:
            outputs = self.engine.generate(prompts, sampling, lora_request=self._lora, use_tqdm=False)
        except Exception as error:
            raise EscbenchError(f"vllm generation failed ({type(error).__name__}: {error})") from None
        generations = []
        for output in outputs:
            completion = output.outputs[0]
            generations.append(Generation(
                text=trim_at_stops(completion.text, stops).strip(), raw=completion.text,
                usage={"prompt_tokens": len(output.prompt_token_ids or []),
                       "completion_tokens": len(completion.token_ids or [])},
            ))
        if progress is not None:
            progress(len(generations))
        return generations
